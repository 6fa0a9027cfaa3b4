"""Partner search: a member's project looking for partners.

The database is the source of truth; Discord shows it.

* **Draft** (`create_draft`, `choose`): `/partner seek` stores the texts and deadline as a
  draft; the wanted sectors, target groups and themes are chosen in an ephemeral message
  whose selects and *Post* button carry the draft id (DynamicItems in `cogs.partners`), so
  they keep working after a restart.
* **Post** (`post`): the draft becomes `open` with its channel and expiry in one write, then
  the card is sent and its message id stored. A restart between the two finds the card in
  the channel by its *I'm interested* button's custom id before posting (`_post_card`,
  `resumed`), so there is one card per search. The poster gets up to five suggestions
  (`bot.domain.partners.rank_partners`).
* **Interested** (`interest`): one row per person and search (`add_interest`), one private
  thread per row, stored as soon as it exists (`set_thread`); both members are added and
  the cards posted once (`set_opened`). A restart resumes a row without its thread or its
  message: a stored thread is reused, a thread a crash left unstored is adopted by its name,
  and the message is posted only if no bot message with cards is in the thread yet.
* **Close and expire**: the poster closes with *Found partners* / *Withdraw*; open searches
  expire at the end of their deadline day or 60 days after posting (`expire_due`). Any
  status change marks the card unsynced; `_sync_cards` edits it (status, no buttons) and
  marks it synced, so a refused edit is retried by the next sweep.
* **30 days later** (`_ask_due`): each thread gets "did you start working together?" once,
  while both are still members: claimed in the database first (`claim_followup`), marked
  done after; a claim left by a crash or a refused post is retried with a look in the
  thread for the question first (`_retry_followups`).
* **Sweep**: one APScheduler interval job (`partner-sweep`) only wakes `sweep()`, which
  does all of the above from the database; `start()` runs it once at start.
"""

from bot.services.partners.cards import (
    CHOICE_KINDS,
    CLOSE_TEMPLATE,
    DRAFT_TEMPLATE,
    FOLLOWUP_NO_TEMPLATE,
    INTEREST_TEMPLATE,
    PartnerViews,
    PostResult,
    close_custom_id,
    collab_custom_id,
    draft_custom_id,
    followup_no_custom_id,
    interest_custom_id,
)
from bot.services.partners.service import PartnerService

__all__ = [
    "CHOICE_KINDS",
    "CLOSE_TEMPLATE",
    "DRAFT_TEMPLATE",
    "FOLLOWUP_NO_TEMPLATE",
    "INTEREST_TEMPLATE",
    "PartnerService",
    "PartnerViews",
    "PostResult",
    "close_custom_id",
    "collab_custom_id",
    "draft_custom_id",
    "followup_no_custom_id",
    "interest_custom_id",
]
