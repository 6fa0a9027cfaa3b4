"""Matchmaking: rounds, delivery, "did you meet?" follow-ups, suggestions and tables.

A package with one job per module: `common` (bounds, custom ids, pure helpers, results),
`render` (what a round and a table plan say), `delivery` (threads and DMs), `followups`
("did you meet?" and silence), `service` (`MatchingService`: who takes part, a round,
suggestions, pause/leave, tables, settings; it owns a `Delivery` and `Followups`).

The database is the source of truth; Discord shows it.

* **A round** (`make_round`): everyone taking part (complete profile, not paused or left),
  optionally only those going to a meeting, is paired by `bot.domain.matching.match_round`
  against the stored history (the server's window of rounds). The round and its groups are
  stored in one transaction (`save_round`, follow-up due after the server's `followup_days`);
  people taking part but not in it (left out) and people paused get priority next time.
* **Delivery** (`_deliver`): a private thread per group in the introductions channel with
  the members added and one message (the cards and why), or, with the server's `dm`
  setting, a DM to each member (closed DMs fall back to the group's thread). Every step is
  written down as it happens: the thread as soon as it exists (`set_thread`), each member
  as they get their match (`set_member_delivery`: thread, dm or gone), the group when done
  (`set_delivered`). A restart resumes undelivered groups: a thread is reused, members are
  added again (idempotent), and the message is posted only to members no bot message in
  that thread mentions yet, so nothing is posted twice.
* **Follow-up**: one APScheduler job per pending round (`match-followup:<round id>`),
  derived from the database at start and whenever a round is made; jobs only wake
  `run_followups`, which claims each due round (`claim_followup`) and each group
  (`claim_group_followup`) exactly once and asks "did you meet?" with four buttons whose
  custom ids carry the group and the answer (`CUSTOM_ID_TEMPLATE`, handled by a
  `DynamicItem` in `cogs.matching`, so they work after a restart).
* **Silence**: when a round is made or a follow-up runs, every earlier round whose
  follow-up was sent is counted once (`claim_ignores`): members asked who did not answer get
  `ignored_rounds + 1`, those who answered start again from zero; at `IGNORED_LIMIT` in a
  row they are paused and told (DM, else a mention in their match thread) how to resume.
"""

from bot.services.matching.common import (
    ANSWERS,
    CUSTOM_ID_TEMPLATE,
    EVER_ROUNDS,
    JOB_PREFIX,
    THREAD_ARCHIVE_MINUTES,
    THREAD_NEEDS,
    AnswerStatus,
    DeliveryReport,
    RoundExists,
    RoundReport,
    check_range,
    chunks,
    followup_custom_id,
    history_of,
    mentions,
    only_users,
    pack_embeds,
    person_of,
    reasons_from_json,
    reasons_to_json,
    render_reasons,
)
from bot.services.matching.render import round_summary, tables_text
from bot.services.matching.service import MatchingService

__all__ = [
    "ANSWERS",
    "CUSTOM_ID_TEMPLATE",
    "EVER_ROUNDS",
    "JOB_PREFIX",
    "THREAD_ARCHIVE_MINUTES",
    "THREAD_NEEDS",
    "AnswerStatus",
    "DeliveryReport",
    "MatchingService",
    "RoundExists",
    "RoundReport",
    "check_range",
    "chunks",
    "followup_custom_id",
    "history_of",
    "mentions",
    "only_users",
    "pack_embeds",
    "person_of",
    "reasons_from_json",
    "reasons_to_json",
    "render_reasons",
    "round_summary",
    "tables_text",
]
