-- 0013: collaborations members record ("we started working together"). One counts when at
-- least two of its members confirmed; its month is that of the second confirmation in the
-- server's zone (bot/domain/collaborations.py). Ids, sectors and times only besides the
-- one-line title and the optional link the members gave.
--   state  draft: the recorder is still choosing the members (form from a follow-up)
--          open:  the members were asked to confirm
-- origin says what it grew out of: a match group, a partner search (an interest), a
-- meeting (origin_ref is then the meeting id), or nothing the bot knows (other).
CREATE TABLE collaborations (
    id                  INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL,
    title               TEXT    NOT NULL,
    link                TEXT,
    origin              TEXT    NOT NULL CHECK (origin IN ('match', 'partner', 'meeting', 'other')),
    origin_ref          INTEGER,
    created_by          INTEGER,              -- NULL once that person deleted their data
    fallback_channel_id INTEGER,              -- where to mention members whose DMs are closed
    state               TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('draft', 'open')),
    created_at          TEXT    NOT NULL
);
CREATE INDEX collaborations_guild ON collaborations (guild_id, created_at);

-- user_id becomes NULL when a member deletes their data; the sector and the confirmation
-- stay, so a confirmed collaboration still counts (anonymously).
--   included   0: unticked by the recorder while the collaboration is a draft
--   asked_at   the confirmation request was claimed (sent once); asked_sent once it went out
CREATE TABLE collaboration_members (
    id               INTEGER PRIMARY KEY,
    collaboration_id INTEGER NOT NULL REFERENCES collaborations (id) ON DELETE CASCADE,
    guild_id         INTEGER NOT NULL,
    user_id          INTEGER,
    sector           TEXT,
    included         INTEGER NOT NULL DEFAULT 1 CHECK (included IN (0, 1)),
    answer           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (answer IN ('pending', 'confirmed', 'declined')),
    confirmed_at     TEXT,
    asked_at         TEXT,
    asked_sent       INTEGER NOT NULL DEFAULT 0 CHECK (asked_sent IN (0, 1)),
    UNIQUE (collaboration_id, user_id)
);
CREATE INDEX collaboration_members_user ON collaboration_members (guild_id, user_id);
CREATE INDEX collaboration_members_owed ON collaboration_members (collaboration_id)
    WHERE asked_sent = 0;
