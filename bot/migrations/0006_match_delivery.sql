-- 0006: matchmaking bookkeeping, so delivery and follow-ups resume after a restart and
-- unanswered follow-ups are counted once per round.
--   match_rounds.ignores_counted   1 once the round's unanswered follow-ups were counted
--   match_groups.followup_asked_at when "did you meet?" was claimed for the group (once)
--   match_members.delivered_via    how this member got their match: thread, dm, or gone
--                                  (left the server before delivery)
ALTER TABLE match_rounds ADD COLUMN ignores_counted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE match_groups ADD COLUMN followup_asked_at TEXT;
ALTER TABLE match_members ADD COLUMN delivered_via TEXT
    CHECK (delivered_via IN ('thread', 'dm', 'gone'));
