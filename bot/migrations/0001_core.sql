-- 0001: per-server settings. Every table that holds server data carries guild_id.
CREATE TABLE guild_settings (
    guild_id               INTEGER PRIMARY KEY,
    announce_channel_id    INTEGER,
    intro_channel_id       INTEGER,
    organiser_role_id      INTEGER,
    language               TEXT    NOT NULL DEFAULT 'nb' CHECK (language IN ('nb', 'sv', 'en')),
    timezone               TEXT    NOT NULL DEFAULT 'Europe/Oslo',
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL
);
