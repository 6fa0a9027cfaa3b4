-- 0011: the programme. Members propose a short talk, case or question for an upcoming
-- meeting; organisers accept, decline or move it, order the accepted ones and give each a
-- time slot (bot/services/programme.py).
--   open       proposed; the proposer may still edit or withdraw it
--   accepted   in the meeting's programme (position, slot)
--   declined   not in the programme
--   withdrawn  taken back by the proposer before a decision
-- A move is a decision too: the proposal goes to the other meeting, open again.
-- `sector` is the proposer's sector when they proposed (or last edited), so the report's
-- counts stay true when the profile changes or is deleted.
-- The decision notice is owed in the transaction of the decision (`notice`, with
-- `notice_sent_at` NULL) and marked once sent; after a crash an owed notice already in the
-- person's DMs (or in the announcement's replies) is only marked.
-- A deleted member's proposals stay as anonymous rows (user_id NULL, no text) for counts;
-- an accepted one still holds its place in the programme, shown as deleted.
CREATE TABLE proposals (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    meeting_id       INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id          INTEGER,
    title            TEXT    NOT NULL,
    summary          TEXT    NOT NULL DEFAULT '',
    kind             TEXT    NOT NULL CHECK (kind IN ('case', 'talk', 'question')),
    co_presenter_1   INTEGER,
    co_presenter_2   INTEGER,
    sector           TEXT,
    status           TEXT    NOT NULL DEFAULT 'open'
                             CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn')),
    position         INTEGER,                    -- order among the accepted (NULL: last)
    slot             TEXT,                       -- local wall time "09:15" (NULL: none)
    decided_by       INTEGER,
    decided_at       TEXT,
    notice           TEXT    CHECK (notice IS NULL OR notice IN ('accepted', 'declined', 'moved')),
    notice_sent_at   TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);

CREATE INDEX proposals_meeting ON proposals (meeting_id, status);
CREATE INDEX proposals_guild_user ON proposals (guild_id, user_id);
CREATE INDEX proposals_owed ON proposals (guild_id) WHERE notice IS NOT NULL AND notice_sent_at IS NULL;
