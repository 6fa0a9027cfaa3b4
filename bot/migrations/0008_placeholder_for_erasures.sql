-- PLACEHOLDER, delete when merging: number 0008 belongs to 0008_erasures.sql (branch
-- h/erasure). It exists only so that this branch's 0009 has no gap; it changes nothing.
SELECT 1;
