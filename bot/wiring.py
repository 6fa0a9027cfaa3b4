"""The wiring, in one place: every service is built once, here, with the collaborators it
uses, before any cog is loaded (the pattern of discord.py's `examples/advanced_startup.py`
and python-discord's bot). Cogs take their service from `bot.services` (typed attributes,
never a lookup by name); a service that calls another gets it in its constructor.

Order (each line may use the ones above it):

1. `meetings` (announcements, answers, reconciliation) and `profiles` (introductions);
2. `programme` (proposals; re-renders a meeting through `meetings`), `team`;
3. `matching` (rounds, delivery, follow-ups), `rhythm` (rounds on a rhythm, via `matching`);
4. `reminders` (series, reminders, the monthly post: announces through `meetings`, hands
   rhythm claims of the shared ledger to `rhythm`);
5. `partners`, `collaborations` (records "working together" answers through `matching`);
6. `privacy` (a deletion reaches `profiles`, `meetings`, `programme` and `team`).

The persistent views services post (buttons that must work after a restart) are defined
in the cogs, beside the `DynamicItem`s that answer them; they are handed in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.services.collaborations import CollaborationService
from bot.services.introductions import IntroductionService
from bot.services.matching import MatchingService
from bot.services.meetings import MeetingService
from bot.services.partners import PartnerService, PartnerViews
from bot.services.privacy import PrivacyService
from bot.services.programme import ProgrammeService
from bot.services.reminders import ReminderService
from bot.services.rhythm import RhythmService
from bot.services.team import TeamService

if TYPE_CHECKING:
    from bot.bot import MoteplassBot


class Settles(Protocol):
    async def settled(self) -> None:
        """Return once the service's start-up work and pending updates are done."""


class Closes(Protocol):
    async def close(self) -> None:
        """Stop the service's jobs and background work."""


@dataclass(frozen=True, slots=True)
class Services:
    meetings: MeetingService
    profiles: IntroductionService
    programme: ProgrammeService
    team: TeamService
    matching: MatchingService
    rhythm: RhythmService
    reminders: ReminderService
    partners: PartnerService
    collaborations: CollaborationService
    privacy: PrivacyService

    def settling(self) -> tuple[Settles, ...]:
        """What `MoteplassBot.wait_until_settled` waits for."""
        return (
            self.meetings,
            self.programme,
            self.team,
            self.matching,
            self.rhythm,
            self.reminders,
            self.partners,
            self.collaborations,
            self.privacy,
        )

    def closing(self) -> tuple[Closes, ...]:
        """What `MoteplassBot.close` stops first, in this order."""
        return (self.reminders, self.rhythm, self.matching, self.partners, self.meetings)


def build_services(bot: MoteplassBot) -> Services:
    # The views live in the cogs (beside the DynamicItems answering them).
    from cogs.collaborations import confirm_view
    from cogs.matching import followup_view
    from cogs.partners import card_view
    from cogs.partners import followup_view as partner_followup_view

    meetings = MeetingService(bot)
    profiles = IntroductionService(bot)
    programme = ProgrammeService(bot, meetings)
    team = TeamService(bot)
    matching = MatchingService(bot, followup_view)
    rhythm = RhythmService(bot, matching)
    reminders = ReminderService(bot, meetings, rhythm)
    partners = PartnerService(bot, PartnerViews(card=card_view, followup=partner_followup_view))
    collaborations = CollaborationService(bot, confirm_view, matching)
    privacy = PrivacyService(
        bot, profiles=profiles, meetings=meetings, programme=programme, team=team
    )
    return Services(
        meetings=meetings,
        profiles=profiles,
        programme=programme,
        team=team,
        matching=matching,
        rhythm=rhythm,
        reminders=reminders,
        partners=partners,
        collaborations=collaborations,
        privacy=privacy,
    )
