-- 0010: the national view (`python -m bot report --all`). A server is in it only after an
-- organiser with Manage Server opted in (`/setup national_report`); off by default.
-- region_name is the name the row carries: the one given, else the server's name when
-- the opt-in was last set.
ALTER TABLE guild_settings ADD COLUMN national_report INTEGER NOT NULL DEFAULT 0
    CHECK (national_report IN (0, 1));
ALTER TABLE guild_settings ADD COLUMN region_name TEXT;
