-- 0016: the guided start (`/setup start`). Most of its steps are read from what they store
-- (settings, series, the reminder plan, the team); a step whose choice may equal the
-- defaults (language and time zone) is marked here when the person confirms it.
CREATE TABLE setup_progress (
    guild_id INTEGER NOT NULL,
    step     TEXT    NOT NULL,
    done_at  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, step)
) WITHOUT ROWID;

-- Servers set up before the guided start chose (or kept) their language and zone with
-- /setup configure: their checklist shows the step done.
INSERT INTO setup_progress (guild_id, step, done_at)
SELECT guild_id, 'language', updated_at FROM guild_settings;
