"""`python -m bot report --guild ID --from DATE --to DATE --out DIR`: the /report files.

Writes the same CSV and PNG as `/report`, in the server's language and zone, from the
database at DATABASE_PATH (no token needed). Dates are local days, both included.

`python -m bot report --all [--lang nb|sv|en] …`: the national view for the host, a row
per server that opted in (`/setup national_report`) and a total; never shown in Discord.
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
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalog
from bot.services.reports import (
    RenderedNational,
    RenderedReport,
    build,
    build_national,
    render,
    render_national,
    request_for,
)
from bot.settings import load_settings
from bot.storage.guilds import GuildSettingsRepository


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--guild", type=int, help="the server's id")
    which.add_argument(
        "--all",
        action="store_true",
        help="every server that opted in (/setup national_report): a row each and a total",
    )
    parser.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        default=DEFAULT_LANGUAGE,
        help="language of the --all files (a server's own report uses its language)",
    )
    parser.add_argument("--from", dest="start", help="first day (default: twelve months back)")
    parser.add_argument("--to", dest="end", help="last day (default: today)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the CSV and PNG")


async def _run(args: argparse.Namespace, catalog: Catalog) -> RenderedReport | RenderedNational:
    settings = load_settings()
    if not settings.database_path.exists():
        raise FileNotFoundError(settings.database_path)
    db = await Database.open(settings.database_path)
    if args.all:
        try:
            national = await build_national(
                db,
                SystemClock().now(),
                parse_date(args.start) if args.start else None,
                parse_date(args.end) if args.end else None,
            )
        finally:
            await db.close()
        return render_national(national, catalog.translator(args.lang))
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
