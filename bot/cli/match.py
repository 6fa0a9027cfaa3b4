"""`python -m bot match`: pair people from a CSV or JSON file (or seat them at tables).

Input: CSV with the header `id,name,sector,interests,offers,seeks,organisation` (interests
separated by `;`), or JSON: a list of objects with the same keys (interests as a list).
Sector and interest values are taxonomy keys (config/taxonomy.toml). An optional `priority`
column/key (integer) marks people left out last time. Errors name the CSV line (the header
is line 1) or the JSON entry (counted from 1) and exit with code 2; nothing is written.

History: `[{"a": "id1", "b": "id2", "date": "2026-05-07"}, …]`; distinct dates are rounds.
Output: `{"groups": [{"members": [...], "score": S, "reasons": [...]}], "summary": {...}}`,
written atomically; the summary is also printed to stdout as one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bot.domain.match_model import Group, History, MatchConfig, MetRecord, Person, render_reason
from bot.domain.taxonomy import Taxonomy, load_taxonomy
from bot.errors import BadInput
from bot.i18n import Catalog

FIELDS = ("id", "name", "sector", "interests", "offers", "seeks", "organisation")
LANG = "en"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, type=Path, help="people.csv or people.json")
    parser.add_argument("--history", type=Path, help="history.json: who met whom, when")
    parser.add_argument(
        "--group-size", type=int, default=2, help="2 pairs people; more seats them at tables"
    )
    parser.add_argument("--seed", type=int, default=0, help="tie-break seed (default 0)")
    parser.add_argument("--window", type=int, default=6, help="rounds a repeat is avoided")
    parser.add_argument("--output", type=Path, help="where to write the result JSON")


def _text(value: Any, where: dict[str, Any], field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput("match.error.bad_field", field=field, **where)
    return value.strip()


def _person(raw: dict[str, Any], where: dict[str, Any], taxonomy: Taxonomy) -> Person:
    for name in ("id", "sector"):
        if not str(raw.get(name) or "").strip():
            raise BadInput("match.error.missing_field", field=name, **where)
    person_id = _text(raw["id"], where, "id")
    sector = _text(raw["sector"], where, "sector")
    if sector not in taxonomy.sector_keys:
        raise BadInput("match.error.unknown_sector", sector=sector, **where)
    interests_raw = raw.get("interests") or []
    if isinstance(interests_raw, str):
        interests_raw = interests_raw.split(";")
    if not isinstance(interests_raw, list) or not all(isinstance(i, str) for i in interests_raw):
        raise BadInput("match.error.bad_field", field="interests", **where)
    interests = frozenset(i.strip() for i in interests_raw if i.strip())
    for interest in sorted(interests):
        if interest not in taxonomy.interest_keys:
            raise BadInput("match.error.unknown_interest", interest=interest, **where)
    priority_raw = raw.get("priority") or 0
    try:
        priority = int(priority_raw)
    except (TypeError, ValueError):
        raise BadInput("match.error.bad_field", field="priority", **where) from None
    return Person(
        id=person_id,
        name=_text(raw.get("name"), where, "name") or person_id,
        sector=sector,
        interests=interests,
        offers=_text(raw.get("offers"), where, "offers"),
        seeks=_text(raw.get("seeks"), where, "seeks"),
        organisation=_text(raw.get("organisation"), where, "organisation"),
        priority=priority,
    )


def read_people(path: Path, taxonomy: Taxonomy) -> list[Person]:
    """People from a CSV or JSON file; BadInput naming the row for anything wrong."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise BadInput("match.error.unreadable", path=str(path)) from None
    if not content.strip():
        raise BadInput("match.error.empty_file", path=str(path))
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise BadInput("match.error.bad_json", path=str(path), line=exc.lineno) from None
        if not isinstance(data, list):
            raise BadInput("match.error.bad_json", path=str(path), line=1)
        for number, item in enumerate(data, start=1):
            where = {"row": number}
            if not isinstance(item, dict):
                raise BadInput("match.error.bad_field", field="entry", **where)
            rows.append((item, where))
    else:
        reader = csv.DictReader(content.splitlines())
        missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise BadInput("match.error.bad_header", fields=", ".join(missing))
        for item in reader:
            where = {"row": reader.line_num}
            if None in item:
                raise BadInput("match.error.bad_field", field="columns", **where)
            rows.append((dict(item), where))
    people: list[Person] = []
    seen: set[str] = set()
    for raw, where in rows:
        person = _person(raw, where, taxonomy)
        if person.id in seen:
            raise BadInput("match.error.duplicate_id_row", id=person.id, **where)
        seen.add(person.id)
        people.append(person)
    if len(people) < 2:
        raise BadInput("match.error.too_few", count=len(people))
    return people


def read_history(path: Path, window: int) -> History:
    """History records; BadInput naming the entry for anything malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise BadInput("match.error.bad_history", entry=0) from None
    if not isinstance(data, list):
        raise BadInput("match.error.bad_history", entry=0)
    records: list[MetRecord] = []
    for number, item in enumerate(data, start=1):
        try:
            a, b, when = item["a"], item["b"], date.fromisoformat(item["date"])
        except (TypeError, KeyError, ValueError):
            raise BadInput("match.error.bad_history", entry=number) from None
        if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
            raise BadInput("match.error.bad_history", entry=number)
        records.append(MetRecord(a, b, when))
    return History.from_records(records, window)


def _group_json(
    group: Group, catalog: Catalog, names: dict[str, str], taxonomy: Taxonomy
) -> dict[str, Any]:
    text = catalog.translator(LANG)
    return {
        "members": list(group.members),
        "score": group.score,
        "reasons": [
            render_reason(r, text, names, lambda key: taxonomy.label(key, LANG))
            for r in group.reasons
        ],
    }


def _write_atomically(path: Path, payload: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(args: argparse.Namespace) -> int:
    catalog = Catalog.load()
    try:
        if args.group_size < 2:
            raise BadInput("match.error.group_size", size=args.group_size)
        taxonomy = load_taxonomy()
        people = read_people(args.input, taxonomy)
        history = read_history(args.history, args.window) if args.history else History()
        config = MatchConfig(window_rounds=args.window, seed=args.seed)
        # The solver (numpy, rustworkx) is imported here, not when `python -m bot` builds its
        # parser: `python -m bot run` starts without it.
        from bot.domain.matching import match_round
        from bot.domain.tables import seat

        if args.group_size == 2:
            result = match_round(people, history, config)
            groups, summary = result.groups, result.summary.as_dict()
        else:
            seating = seat(people, history, args.group_size, config)
            groups, summary = seating.tables, seating.summary.as_dict()
    except BadInput as exc:
        print(f"moteplass match: {catalog.text(LANG, exc.key, **exc.params)}", file=sys.stderr)
        return 2
    names = {p.id: p.name for p in people}
    document = {
        "groups": [_group_json(g, catalog, names, taxonomy) for g in groups],
        "summary": summary,
    }
    if args.output is not None:
        _write_atomically(args.output, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


def run(argv: Sequence[str]) -> int:
    """For scripts: parse `argv` like the subcommand does, then run it."""
    parser = argparse.ArgumentParser(prog="moteplass match")
    add_arguments(parser)
    return main(parser.parse_args(list(argv)))
