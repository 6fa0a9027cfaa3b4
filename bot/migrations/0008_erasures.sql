-- 0008: erasure that holds. A deletion is written down as a job before anything is
-- deleted, so a crash at any step is finished at the next start; and where the bot may not
-- remove a deleted member's reactions, a marker makes reconciliation ignore those old
-- reactions until the member reacts again live. Ids and times only.

-- One deletion in progress. `db_done_at` is set in the transaction that deleted the rows;
-- the job row goes once every Discord step is done (minutes, or the next start).
CREATE TABLE erasure_jobs (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    actor_id     INTEGER,                 -- as passed to the deletion (NULL: the leave sweep)
    requested_at TEXT    NOT NULL,
    db_done_at   TEXT,
    found        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (guild_id, user_id)
);

-- What is left to do on Discord for a job: delete an intro card, clear the bot's messages
-- in a match thread, remove the member's RSVP reactions from an open announcement.
CREATE TABLE erasure_steps (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES erasure_jobs (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('card', 'thread', 'reactions')),
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER,                  -- NULL for a thread
    meeting_id  INTEGER                   -- for 'reactions'
);

CREATE INDEX erasure_steps_job ON erasure_steps (job_id);

-- A deleted member's reactions on an open announcement are not answers. `removed` = 1 once
-- the bot took them away (any reaction seen later is new); 0 while they may still be there.
-- Goes when the member reacts again live, when their reactions are gone, or when the
-- meeting no longer takes answers.
CREATE TABLE erasure_markers (
    guild_id    INTEGER NOT NULL,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    erased_at   TEXT    NOT NULL,
    removed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (meeting_id, user_id)
) WITHOUT ROWID;

CREATE INDEX erasure_markers_guild ON erasure_markers (guild_id, user_id);
