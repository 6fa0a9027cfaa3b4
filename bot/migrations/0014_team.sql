-- 0014: the handbook's roles (`/team`). Who holds which of the five roles in a server, with
-- the organisation they hold it for (free text), and the one "who runs Møteplass" card in
-- the announcement channel, edited in place. Anyone holding a role counts as an organiser.
-- `stale` = 1: a deletion (`/privacy delete`, the leave sweep) removed someone's roles and
-- the card still shows them; it is edited at once, or at the next start after a crash.
CREATE TABLE team_roles (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('project_lead', 'municipal_partner',
                     'funding_partner', 'delivery_partner', 'working_group')),
    organisation TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, role)
) WITHOUT ROWID;

CREATE TABLE team_cards (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    stale      INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)),
    updated_at TEXT    NOT NULL
);
