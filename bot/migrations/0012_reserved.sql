-- PLACEHOLDER on branch h/team only: migration numbers must run without gaps and 0012 is
-- assigned to another branch. Delete this file when merging (the other branch's 0012 replaces it).
SELECT 1;
