"""Logging set-up. Log lines carry ids and counts, never the token or personal data."""

from __future__ import annotations

import logging


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # discord.py logs gateway payload summaries at DEBUG; keep it at INFO at most.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level.upper())))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
