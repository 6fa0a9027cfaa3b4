-- 0002: meetings, RSVP answers and "told once" notices.
-- Times are UTC ISO-8601 strings (2026-12-03T07:30:00+00:00); `timezone` is the IANA zone
-- the organiser meant, used for display and for date arithmetic in local wall time.
CREATE TABLE meetings (
    id                    INTEGER PRIMARY KEY,
    guild_id              INTEGER NOT NULL,
    series_id             INTEGER,              -- a later migration adds the series table
    title                 TEXT    NOT NULL,
    description           TEXT    NOT NULL DEFAULT '',
    place                 TEXT    NOT NULL DEFAULT '',
    starts_at             TEXT    NOT NULL,
    ends_at               TEXT    NOT NULL,
    timezone              TEXT    NOT NULL,
    capacity              INTEGER CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 10000),
    rsvp_deadline         TEXT,
    status                TEXT    NOT NULL DEFAULT 'scheduled'
                                  CHECK (status IN ('scheduled', 'cancelled')),
    cancel_reason         TEXT,
    channel_id            INTEGER,
    message_id            INTEGER,              -- the announcement (reactions live here)
    roster_message_id     INTEGER,              -- posted when the announcement can't be edited
    scheduled_event_id    INTEGER,
    announcement_missing  INTEGER NOT NULL DEFAULT 0 CHECK (announcement_missing IN (0, 1)),
    ical_sequence         INTEGER NOT NULL DEFAULT 0,  -- iCalendar SEQUENCE, bumped on changes
    created_by            INTEGER,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (rsvp_deadline IS NULL OR rsvp_deadline <= starts_at)
);

CREATE INDEX meetings_guild_starts ON meetings (guild_id, starts_at);
CREATE INDEX meetings_status_starts ON meetings (status, starts_at);
CREATE UNIQUE INDEX meetings_message ON meetings (message_id);
CREATE UNIQUE INDEX meetings_roster_message ON meetings (roster_message_id);

CREATE TABLE rsvps (
    meeting_id   INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('going', 'maybe', 'not_going', 'waitlist')),
    seq          INTEGER NOT NULL,              -- first-come order within the meeting
    answered_at  TEXT    NOT NULL,              -- when this answer was given
    updated_at   TEXT    NOT NULL,              -- last change (e.g. promotion from the waitlist)
    PRIMARY KEY (meeting_id, user_id)
) WITHOUT ROWID;

CREATE INDEX rsvps_guild_user ON rsvps (guild_id, user_id);

-- One row per thing told once ("you were promoted", "the meeting is cancelled" …).
-- user_id 0 stands for a meeting-wide notice. No foreign key: other features may use it.
CREATE TABLE notices (
    guild_id     INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    meeting_id   INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (kind, meeting_id, user_id)
);

CREATE INDEX notices_guild ON notices (guild_id);
