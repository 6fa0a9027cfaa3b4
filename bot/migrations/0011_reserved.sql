-- PLACEHOLDER on branch h/team only: migration numbers must run without gaps and 0011 is
-- assigned to another branch. Delete this file when merging (the other branch's 0011 replaces it).
SELECT 1;
