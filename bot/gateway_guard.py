"""One malformed gateway event must never end the process.

discord.py calls `ConnectionState.parsers[event](data)` straight from the shard's websocket
reader; an exception there (a payload without a field the parser expects, a field of the
wrong type) escapes `DiscordWebSocket.received_message`, the shard queues a *terminate*
and `AutoShardedClient.connect` closes the client and raises. Wrapping every parser logs
the event name and a short reason (the exception class, the missing key, where it was
raised; never the payload) and skips the event, so the next one is handled as usual.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Parser = Callable[[Any], None]


def skip_reason(exc: BaseException) -> str:
    """`KeyError 'author' at message.py:2130`: no values from the payload, only names."""
    reason = type(exc).__name__
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        key = exc.args[0]
        if len(key) <= 40 and key.replace("_", "").isalnum():
            reason += f" {key!r}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        reason += f" at {Path(last.filename).name}:{last.lineno}"
    return reason


def guard_parsers(parsers: MutableMapping[str, Parser], skipped: Counter[str]) -> None:
    """Replace each parser with one that logs and skips an event it cannot parse."""
    for event, parser in list(parsers.items()):
        if getattr(parser, "__moteplass_guarded__", False):
            continue
        parsers[event] = _guarded(event, parser, skipped)


def _guarded(event: str, parser: Parser, skipped: Counter[str]) -> Parser:
    def parse(data: Any) -> None:
        try:
            parser(data)
        except Exception as exc:
            skipped[event] += 1
            log.warning("skipped a malformed %s event: %s", event, skip_reason(exc))

    parse.__moteplass_guarded__ = True  # type: ignore[attr-defined]
    return parse
