-- 0004: meeting series, reminder plans, per-person DM opt-outs and the delivery ledger.
-- Times are UTC ISO-8601 strings; local dates 'YYYY-MM-DD' and local times 'HH:MM' are
-- wall-clock values in the row's IANA `timezone`.

CREATE TABLE series (
    id                    INTEGER PRIMARY KEY,
    guild_id              INTEGER NOT NULL,
    rrule                 TEXT    NOT NULL,     -- RFC 5545 RRULE value: FREQ=MONTHLY;BYDAY=1TH
    dtstart_local         TEXT    NOT NULL,     -- first local date the rule counts from
    start_time            TEXT    NOT NULL,     -- local 'HH:MM'
    end_time              TEXT    NOT NULL,     -- local 'HH:MM', same day
    timezone              TEXT    NOT NULL,
    title_template        TEXT    NOT NULL,
    place_template        TEXT    NOT NULL DEFAULT '',
    description_template  TEXT    NOT NULL DEFAULT '',
    lead_days             INTEGER NOT NULL DEFAULT 21 CHECK (lead_days BETWEEN 1 AND 90),
    capacity              INTEGER CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 10000),
    active                INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by            INTEGER,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL,
    CHECK (end_time > start_time)
);

CREATE INDEX series_guild_active ON series (guild_id, active);

CREATE TABLE series_skips (
    series_id   INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    local_date  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    UNIQUE (series_id, local_date)
);

CREATE INDEX series_skips_guild ON series_skips (guild_id);

CREATE TABLE reminder_plans (
    guild_id               INTEGER PRIMARY KEY,
    channel_enabled        INTEGER NOT NULL DEFAULT 1 CHECK (channel_enabled IN (0, 1)),
    channel_reminder_days  INTEGER NOT NULL DEFAULT 7 CHECK (channel_reminder_days BETWEEN 0 AND 60),
    dm_enabled             INTEGER NOT NULL DEFAULT 1 CHECK (dm_enabled IN (0, 1)),
    dm_days                INTEGER NOT NULL DEFAULT 1 CHECK (dm_days BETWEEN 0 AND 30),
    local_time             TEXT    NOT NULL DEFAULT '10:00',
    extra_hour_before      INTEGER NOT NULL DEFAULT 0 CHECK (extra_hour_before IN (0, 1)),
    ping_role_id           INTEGER,
    monthly_enabled        INTEGER NOT NULL DEFAULT 1 CHECK (monthly_enabled IN (0, 1)),
    monthly_day            INTEGER NOT NULL DEFAULT 1 CHECK (monthly_day BETWEEN 1 AND 31),
    monthly_time           TEXT    NOT NULL DEFAULT '09:00',
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL
);

CREATE TABLE reminder_optouts (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- The ledger: a delivery is claimed here (unique key) before it is sent, and marked after.
-- Monthly posts live here too (kind 'monthly_post', no meeting, offset_key 'YYYY-MM').
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    key              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    meeting_id       INTEGER REFERENCES meetings (id) ON DELETE CASCADE,
    offset_key       TEXT    NOT NULL DEFAULT '',
    recipient_id     INTEGER NOT NULL DEFAULT 0,  -- 0: a channel post
    due_at           TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('claimed', 'sent', 'failed', 'skipped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    permanent        INTEGER NOT NULL DEFAULT 0 CHECK (permanent IN (0, 1)),  -- failed for good
    stale_reclaims   INTEGER NOT NULL DEFAULT 0,  -- claims taken over after a crash (at most 1)
    last_error_code  TEXT,
    retry_at         TEXT,
    claimed_at       TEXT,
    done_at          TEXT,
    claim_token      TEXT
);

CREATE INDEX deliveries_meeting ON deliveries (meeting_id, status);
CREATE INDEX deliveries_status ON deliveries (status, claimed_at);
CREATE INDEX deliveries_guild_kind ON deliveries (guild_id, kind, offset_key);
