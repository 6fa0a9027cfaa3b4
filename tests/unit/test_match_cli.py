"""`python -m bot match` in-process: exit codes, output shape, nothing written on error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main

HEADER = "id,name,sector,interests,offers,seeks,organisation\n"
ROWS = (
    "a,Anne,civil_society,language;housing,mentoring,internships,Red Cross\n"
    "b,Bo,business,language,internships,volunteers,Acme\n"
    "c,Cai,public_sector,housing,housing advice,mentor,Kommune\n"
    "d,Dina,civil_society,health,volunteers,housing advice,Kirken\n"
)


def _run(tmp_path: Path, content: str, *extra: str, name: str = "people.csv") -> tuple[int, Path]:
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.json"
    return main(["match", "--input", str(source), "--output", str(out), *extra]), out


def test_pairs_from_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(tmp_path, HEADER + ROWS, "--seed", "3")
    assert code == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(m for g in document["groups"] for m in g["members"]) == ["a", "b", "c", "d"]
    assert all(isinstance(g["score"], int) and g["reasons"] for g in document["groups"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == document["summary"]
    assert set(summary) >= {"people", "groups", "cross_sector_share", "repeats", "score", "seconds"}
    assert summary["cross_sector_share"] == 1.0


def test_json_input_history_and_tables(tmp_path: Path) -> None:
    people = [
        {
            "id": r.split(",")[0],
            "name": "",
            "sector": r.split(",")[2],
            "interests": r.split(",")[3].split(";"),
            "offers": "",
            "seeks": "",
            "organisation": "",
        }
        for r in ROWS.strip().splitlines()
    ]
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"a": "a", "b": "b", "date": "2026-05-07"}]))
    code, out = _run(tmp_path, json.dumps(people), "--history", str(history), name="people.json")
    assert code == 0
    groups = [g["members"] for g in json.loads(out.read_text())["groups"]]
    assert ["a", "b"] not in groups
    code, out = _run(tmp_path, json.dumps(people), "--group-size", "4", name="people.json")
    assert code == 0
    document = json.loads(out.read_text())
    assert len(document["groups"]) == 1 and "same_sector_lower_bound" in document["summary"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (HEADER + "a,A,nope,,,,\nb,B,business,,,,\n", "Row 2"),
        ("", "empty"),
        (HEADER, "Too few"),
        (HEADER + "a,A,business,,,,\n", "Too few"),
        (HEADER + "a,A,business,,,,\na,B,other,,,,\n", "Row 3"),
        (HEADER + "a,A,business,nonsense,,,\nb,B,other,,,,\n", "nonsense"),
        ("id,name\na,b\n", "header"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    code, out = _run(tmp_path, content)
    assert code == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    "history", ["{}", '[{"a": "a"}]', '[{"a": "a", "b": "b", "date": "May"}]', "not json"]
)
def test_malformed_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], history: str
) -> None:
    path = tmp_path / "history.json"
    path.write_text(history)
    code, out = _run(tmp_path, HEADER + ROWS, "--history", str(path))
    assert code == 2 and not out.exists()
    assert "history" in capsys.readouterr().err
