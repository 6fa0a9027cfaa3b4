"""Start-up imports: the bot starts without the heavy libraries only some commands need.

matplotlib (report charts), numpy and rustworkx (match rounds, tables, suggestions) and
icalendar (a meeting's calendar file) load when first needed, so an idle bot's memory is
close to a bare discord.py client's (docs/benchmarks.md, "Memory at start"). A fresh
interpreter imports what `python -m bot run` imports (the entry point with its subcommand
parser, the runner, every extension in `EXTENSIONS` and every service), builds the bot and
loads its extensions, then lists which of the heavy modules are in `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "numpy", "rustworkx", "networkx", "scipy", "icalendar", "PIL")

PROBE = """
import asyncio, importlib, json, pkgutil, sys
from pathlib import Path

import bot.__main__
import bot.runner
import bot.services
from bot.bot import EXTENSIONS, MoteplassBot
from bot.clock import SystemClock
from bot.db import Database
from bot.i18n import Catalog
from bot.settings import Settings

bot.__main__.build_parser()
for info in pkgutil.iter_modules(bot.services.__path__):
    importlib.import_module(f"bot.services.{info.name}")
for name in EXTENSIONS:
    importlib.import_module(name)


async def load_all(db_path):
    db = await Database.open(Path(db_path))
    try:
        settings = Settings(database_path=Path(db_path))
        client = MoteplassBot(
            settings=settings, db=db, catalog=Catalog.load(), clock=SystemClock(),
            sync_commands=False,
        )
        await client.setup_hook()
        client.scheduler.shutdown(wait=False)
    finally:
        await db.close()

asyncio.run(load_all(sys.argv[1]))
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


def test_start_imports_no_heavy_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "bot.db"), json.dumps(HEAVY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
