-- 0014: a placeholder for the migration of a branch merged in parallel (issue 11 / 12),
-- only so that h/rhythm's 0015 loads on its own. DELETE this file when merging h/rhythm
-- (load_migrations refuses two files with one number, so a forgotten one is loud).
SELECT 1;
