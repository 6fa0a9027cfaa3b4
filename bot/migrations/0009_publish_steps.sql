-- 0009: durable steps of publishing a meeting, and notices owed but not yet sent.
-- A crash between two steps leaves the row saying how far it got; the bot completes it at
-- start (bot/services/meetings.py `complete_all`, docs/reliability/crash.md).
--   new      stored, nothing posted yet
--   posting  about to post the announcement: it may exist on Discord without its id here
--   posted   the announcement's id is stored; reactions, event or embed may still lag
--   done     the announcement, its reactions and the event (if allowed) match the row
-- Rows from before this migration are taken as done.
ALTER TABLE meetings ADD COLUMN publish_state TEXT NOT NULL DEFAULT 'done'
    CHECK (publish_state IN ('new', 'posting', 'posted', 'done'));
ALTER TABLE meetings ADD COLUMN posting_since TEXT;  -- when the last post began (for operators)

-- A notice row is written before (or in the same transaction as the change that makes it)
-- owed; `sent_at` once it was sent (or could not be). Rows without `sent_at` after a crash
-- are sent at start, unless the person's DMs show it arrived.
ALTER TABLE notices ADD COLUMN sent_at TEXT;
UPDATE notices SET sent_at = created_at;
CREATE INDEX notices_owed ON notices (meeting_id) WHERE sent_at IS NULL;
