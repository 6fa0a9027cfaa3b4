-- 0003: introductions (profiles), server taxonomy extensions, match rounds and follow-ups.
CREATE TABLE profiles (
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    display_name    TEXT    NOT NULL,
    organisation    TEXT    NOT NULL DEFAULT '',
    role            TEXT    NOT NULL DEFAULT '',
    sector          TEXT,                     -- NULL until chosen: the profile is incomplete
    interests       TEXT    NOT NULL DEFAULT '[]',  -- JSON list of taxonomy keys
    offers          TEXT    NOT NULL DEFAULT '',
    seeks           TEXT    NOT NULL DEFAULT '',
    matching        TEXT    NOT NULL DEFAULT 'active'
                    CHECK (matching IN ('active', 'paused', 'left')),
    paused_until    TEXT,
    ignored_rounds  INTEGER NOT NULL DEFAULT 0,
    priority        INTEGER NOT NULL DEFAULT 0,
    card_channel_id INTEGER,
    card_message_id INTEGER,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX profiles_created ON profiles (guild_id, created_at);

CREATE TABLE taxonomy_extensions (
    guild_id INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('sector', 'interest')),
    key      TEXT    NOT NULL,
    label_nb TEXT    NOT NULL,
    label_sv TEXT    NOT NULL,
    label_en TEXT    NOT NULL,
    colour   TEXT,
    PRIMARY KEY (guild_id, kind, key)
);

CREATE TABLE match_settings (
    guild_id       INTEGER PRIMARY KEY,
    delivery       TEXT    NOT NULL DEFAULT 'thread' CHECK (delivery IN ('thread', 'dm')),
    window_rounds  INTEGER NOT NULL DEFAULT 6,
    followup_days  INTEGER NOT NULL DEFAULT 14
);

CREATE TABLE match_rounds (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    meeting_id      INTEGER REFERENCES meetings (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL DEFAULT 'pairs' CHECK (kind IN ('pairs', 'tables')),
    seed            INTEGER NOT NULL,
    people          INTEGER NOT NULL,
    groups          INTEGER NOT NULL,
    cross_sector    INTEGER NOT NULL,
    score           INTEGER NOT NULL,
    created_by      INTEGER,
    created_at      TEXT    NOT NULL,
    followup_due_at TEXT,
    followup_done   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX match_rounds_guild ON match_rounds (guild_id, created_at);

CREATE TABLE match_groups (
    id           INTEGER PRIMARY KEY,
    round_id     INTEGER NOT NULL REFERENCES match_rounds (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    score        INTEGER NOT NULL,
    same_sector  INTEGER NOT NULL DEFAULT 0,
    reasons      TEXT    NOT NULL DEFAULT '[]',   -- JSON: reason data, rendered per language
    thread_id    INTEGER,
    delivered    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX match_groups_round ON match_groups (round_id);

-- user_id becomes NULL when a member deletes their data; the sector stays as an
-- anonymous aggregate for reports.
CREATE TABLE match_members (
    id          INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES match_groups (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER,
    sector      TEXT    NOT NULL,
    met         TEXT    CHECK (met IN ('yes', 'no', 'planned')),
    answered_at TEXT,
    UNIQUE (group_id, user_id)
);
CREATE INDEX match_members_user ON match_members (guild_id, user_id);
