-- 0016: the guided start (`/setup start`). Most of its steps are read from what they store
-- (settings, series, the reminder plan, the team); a step whose choice may equal the
-- defaults (language and time zone) is marked here when the person confirms it.
CREATE TABLE setup_progress (
    guild_id INTEGER NOT NULL,
    step     TEXT    NOT NULL,
    done_at  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, step)
) WITHOUT ROWID;
