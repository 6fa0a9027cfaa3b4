-- 0015: matching on a rhythm (issue 12 part 4). The server's rhythm (off, every 2 or 4
-- weeks counted from `rhythm_anchor`, or the week after each meeting), its weekday
-- (0 Monday … 6 Sunday) and local time 'HH:MM' in the server's zone; who last set it
-- (the report goes to them by DM when no report channel is set). A round made for a slot
-- carries the slot's ledger key: never two rounds for one slot, even after a crash.
ALTER TABLE match_settings ADD COLUMN rhythm TEXT NOT NULL DEFAULT 'off'
    CHECK (rhythm IN ('off', 'every_2_weeks', 'every_4_weeks', 'after_meeting'));
ALTER TABLE match_settings ADD COLUMN rhythm_weekday INTEGER NOT NULL DEFAULT 0
    CHECK (rhythm_weekday BETWEEN 0 AND 6);
ALTER TABLE match_settings ADD COLUMN rhythm_time TEXT NOT NULL DEFAULT '09:00';
ALTER TABLE match_settings ADD COLUMN rhythm_anchor TEXT;
ALTER TABLE match_settings ADD COLUMN rhythm_set_by INTEGER;
ALTER TABLE match_settings ADD COLUMN report_channel_id INTEGER;
ALTER TABLE match_rounds ADD COLUMN rhythm_slot TEXT;
CREATE UNIQUE INDEX match_rounds_rhythm_slot ON match_rounds (guild_id, rhythm_slot)
    WHERE rhythm_slot IS NOT NULL;
