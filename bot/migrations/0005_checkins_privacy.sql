-- 0005: check-in (who actually came), privacy settings, departures and the privacy log.

CREATE TABLE checkins (
    guild_id    INTEGER NOT NULL,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    checked_by  INTEGER,                  -- the organiser who recorded it
    checked_at  TEXT    NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
) WITHOUT ROWID;

CREATE INDEX checkins_guild_user ON checkins (guild_id, user_id);

-- What stays of a member's answers and check-ins after their data is deleted: counts by
-- meeting, kind, status and sector, with no one's id, so past reports keep their numbers.
CREATE TABLE anonymous_participation (
    guild_id    INTEGER NOT NULL,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('answer', 'checkin')),
    status      TEXT    NOT NULL DEFAULT '',   -- the answer's status; '' for a check-in
    sector      TEXT,                          -- NULL: no sector was known
    people      INTEGER NOT NULL CHECK (people >= 1)
);

CREATE INDEX anonymous_participation_meeting ON anonymous_participation (guild_id, meeting_id);

-- When a deleted member's introduction was made, so introduction counts stay true.
CREATE TABLE anonymous_introductions (
    guild_id    INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);

CREATE INDEX anonymous_introductions_guild ON anonymous_introductions (guild_id, created_at);

CREATE TABLE privacy_settings (
    guild_id          INTEGER PRIMARY KEY,
    retention_months  INTEGER NOT NULL DEFAULT 24 CHECK (retention_months BETWEEN 1 AND 120),
    leave_grace_days  INTEGER NOT NULL DEFAULT 30 CHECK (leave_grace_days BETWEEN 0 AND 365)
);

-- Members the bot could no longer find in the server; their data is deleted once
-- `left_at` is older than the grace period, and the row goes when they are seen again.
CREATE TABLE departures (
    guild_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    left_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- That a deletion happened and which organiser asked for it (actor_id; NULL when members
-- deleted their own data or the bot did, since that id would say whose data it was),
-- never whose data or what it held.
CREATE TABLE privacy_log (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('delete_self', 'delete_member', 'delete_departed', 'retention')),
    actor_id  INTEGER,
    at        TEXT    NOT NULL
);

CREATE INDEX privacy_log_guild ON privacy_log (guild_id, at);
