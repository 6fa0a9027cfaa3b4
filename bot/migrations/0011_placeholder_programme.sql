-- 0011: PLACEHOLDER on branch h/collab only. Migration numbers must run without gaps, and
-- 0011 belongs to h/programme. Delete this file when merging h/collab after h/programme
-- (two 0011 files make load_migrations refuse to start, so it cannot be missed).
SELECT 1;
