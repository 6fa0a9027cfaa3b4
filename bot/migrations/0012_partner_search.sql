-- 0012: partner search (`/partner seek`): a member's project looking for partners, the
-- people who said they are interested (one private thread each), and who opted out of
-- being suggested. A search is a draft until posted; its card is edited when it closes
-- (card_synced = 0 until the edit went through). Lists are JSON lists of taxonomy keys;
-- the deadline is a local date (ISO), expires_at a UTC instant.
ALTER TABLE guild_settings ADD COLUMN partner_channel_id INTEGER;

CREATE TABLE partner_searches (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    title         TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    brings        TEXT    NOT NULL DEFAULT '',
    sectors       TEXT    NOT NULL DEFAULT '[]',
    target_groups TEXT    NOT NULL DEFAULT '[]',
    themes        TEXT    NOT NULL DEFAULT '[]',
    deadline      TEXT,
    status        TEXT    NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'open', 'found', 'withdrawn', 'expired')),
    created_at    TEXT    NOT NULL,
    posted_at     TEXT,
    expires_at    TEXT,
    closed_at     TEXT,
    channel_id    INTEGER,
    message_id    INTEGER,
    card_synced   INTEGER NOT NULL DEFAULT 1 CHECK (card_synced IN (0, 1))
);
CREATE INDEX partner_searches_guild ON partner_searches (guild_id, status);
CREATE INDEX partner_searches_user ON partner_searches (guild_id, user_id);

-- followup_done: 0 not yet, 1 asked, 2 not asked (a member left, the thread is gone).
CREATE TABLE partner_interests (
    id                  INTEGER PRIMARY KEY,
    search_id           INTEGER NOT NULL REFERENCES partner_searches (id) ON DELETE CASCADE,
    guild_id            INTEGER NOT NULL,
    user_id             INTEGER NOT NULL,
    created_at          TEXT    NOT NULL,
    thread_id           INTEGER,
    thread_at           TEXT,
    opened_at           TEXT,
    followup_claimed_at TEXT,
    followup_done       INTEGER NOT NULL DEFAULT 0 CHECK (followup_done IN (0, 1, 2)),
    answer              TEXT,
    answered_at         TEXT,
    UNIQUE (search_id, user_id)
);
CREATE INDEX partner_interests_user ON partner_interests (guild_id, user_id);

CREATE TABLE partner_prefs (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    suggest  INTEGER NOT NULL DEFAULT 1 CHECK (suggest IN (0, 1)),
    PRIMARY KEY (guild_id, user_id)
);
