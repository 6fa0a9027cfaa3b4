"""A loopback Discord emulator for end-to-end tests with the real discord.py client."""

from tests.emulator.emulator import Emulator, normalise_emoji
from tests.emulator.models import (
    ApiError,
    ChannelRef,
    GuildRef,
    InteractionRecord,
    InteractionResult,
    RequestRecord,
    RoleRef,
    UserRef,
)

__all__ = [
    "ApiError",
    "ChannelRef",
    "Emulator",
    "GuildRef",
    "InteractionRecord",
    "InteractionResult",
    "RequestRecord",
    "RoleRef",
    "UserRef",
    "normalise_emoji",
]
