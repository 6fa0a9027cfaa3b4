-- 0012: PLACEHOLDER on branch h/collab only. Migration numbers must run without gaps, and
-- 0012 belongs to h/partner. Delete this file when merging h/collab after h/partner
-- (two 0012 files make load_migrations refuse to start, so it cannot be missed).
SELECT 1;
