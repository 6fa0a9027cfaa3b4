"""`python -m bot [run|migrate|backup PATH|…]`: the one entry point."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.errors import StartupError
from bot.logs import setup_logging
from bot.settings import load_settings

log = logging.getLogger("bot")

# name → (module, one-line help). Each module has add_arguments(parser) and main(args).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "match": ("bot.cli.match", "pair people from a CSV or JSON file"),
    "report": ("bot.cli.report", "write a server's report (CSV and PNG) to a folder"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moteplass", description="Møteplass Discord bot")
    parser.add_argument("--version", action="version", version=f"moteplass {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (default)")
    sub.add_parser("migrate", help="create or upgrade the database, then exit")
    backup = sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("path", type=Path, help="where to write the copy")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text))
    return parser


async def _migrate(database_path: Path) -> list[str]:
    from bot.db import Database

    db = await Database.open(database_path, migrate=False)
    try:
        return await db.migrate()
    finally:
        await db.close()


async def _backup(database_path: Path, target: Path) -> None:
    from bot.db import Database

    db = await Database.open(database_path, migrate=False)
    try:
        await db.backup(target)
    finally:
        await db.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        if command in SUBCOMMANDS:
            module = importlib.import_module(SUBCOMMANDS[command][0])
            return int(module.main(args))
        settings = load_settings()
        setup_logging(settings.log_level)
        if command == "migrate":
            applied = asyncio.run(_migrate(settings.database_path))
            print(f"database at {settings.database_path}: applied {len(applied)} migration(s)")
            return 0
        if command == "backup":
            asyncio.run(_backup(settings.database_path, args.path))
            print(f"backup written to {args.path}")
            return 0
        from bot.runner import run

        settings.require_token()
        asyncio.run(run(settings))
        return 0
    except StartupError as exc:
        print(f"moteplass: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
