-- 0007: a group's "did you meet?" is marked sent after it went out, so a crash between the
-- claim and the send is retried once at the next start (never twice).
--   match_groups.followup_sent     1 once the question was posted (or given up on)
--   match_groups.followup_retried  1 once an interrupted question was released for a retry
ALTER TABLE match_groups ADD COLUMN followup_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE match_groups ADD COLUMN followup_retried INTEGER NOT NULL DEFAULT 0;
UPDATE match_groups SET followup_sent = 1 WHERE followup_asked_at IS NOT NULL;
