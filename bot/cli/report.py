"""`python -m bot report --guild ID --from DATE --to DATE --out DIR`: the /report files.

Writes the same CSV and PNG as `/report`, in the server's language and zone, from the
database at DATABASE_PATH (no token needed). Dates are local days, both included.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.db import Database
from bot.domain.dates import parse_date
from bot.errors import MoteplassError
from bot.i18n import Catalog
from bot.services.reports import RenderedReport, build, render, request_for
from bot.settings import load_settings
from bot.storage.guilds import GuildSettingsRepository


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--guild", required=True, type=int, help="the server's id")
    parser.add_argument("--from", dest="start", help="first day (default: twelve months back)")
    parser.add_argument("--to", dest="end", help="last day (default: today)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the CSV and PNG")


async def _run(args: argparse.Namespace, catalog: Catalog) -> RenderedReport:
    settings = load_settings()
    if not settings.database_path.exists():
        raise FileNotFoundError(settings.database_path)
    db = await Database.open(settings.database_path)
    try:
        guild = await GuildSettingsRepository(db).get(args.guild)
        start = parse_date(args.start) if args.start else None
        end = parse_date(args.end) if args.end else None
        request = request_for(SystemClock().now(), guild.timezone, start, end)
        report = await build(db, args.guild, request)
    finally:
        await db.close()
    return render(report, catalog.translator(guild.language))


def main(args: argparse.Namespace) -> int:
    catalog = Catalog.load()
    try:
        rendered = asyncio.run(_run(args, catalog))
    except MoteplassError as exc:
        print(f"moteplass report: {catalog.text('en', exc.key, **exc.params)}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"moteplass report: no database at {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{rendered.filename_stem}.csv"
    png_path = out / f"{rendered.filename_stem}.png"
    csv_path.write_bytes(rendered.csv)
    png_path.write_bytes(rendered.png)
    print(csv_path)
    print(png_path)
    return 0
