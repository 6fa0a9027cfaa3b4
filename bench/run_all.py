"""Every benchmark, one after the other: `make bench` (full sizes, the figures for
docs/benchmarks.md) or `python bench/run_all.py --quick` (small sizes, run by `make test`
so that a benchmark that breaks fails CI; its figures mean nothing).

Each benchmark runs as its own process (its peak RSS is its own) and prints its figures;
this script exits non-zero if any of them fails (the burst bench fails on a lost answer).
What several benchmarks share is in `bench/common.py` (not a benchmark itself).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name → (script, full arguments, quick arguments)
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    "matching": (
        "matching.py",
        [],
        [
            *("--sizes", "80,500", "--rounds", "2", "--block-size", "200"),
            *("--networkx-max", "80", "--cli-sizes", "200", "--cli-runs", "1"),
        ],
    ),
    "memory": ("memory.py", [], ["--quick"]),
    "restart_scale": (
        "restart_scale.py",
        [],
        ["--servers", "2", "--meetings", "3", "--answers", "40", "--runs", "1"],
    ),
    "many_servers": ("many_servers.py", [], ["--servers", "10", "--answers", "10", "--runs", "1"]),
    "soak": ("soak.py", [], ["--quick"]),
    "rsvp_burst": (
        "rsvp_burst.py",
        [],
        ["--events", "600", "--members", "200", "--runs", "1"],
    ),
    "rsvp_ingest": (
        "rsvp_ingest.py",
        [],
        ["--events", "600", "--members", "200", "--runs", "1", "--reference-seconds", "2"],
    ),
    "commands_burst": (
        "commands_burst.py",
        [],
        [
            *("--events", "300", "--members", "100", "--bursts", "1", "--idle", "2"),
            *("--profiles", "30", "--paced-rate", "0"),
        ],
    ),
}


def machine() -> str:
    """The date, the CPU, the cores, the memory and the versions, for docs/benchmarks.md."""
    facts: dict[str, str] = {}
    for path in ("/proc/cpuinfo", "/proc/meminfo"):
        try:
            for line in Path(path).read_text().splitlines():
                key, _, value = line.partition(":")
                facts.setdefault(key.strip(), value.strip())
        except OSError:
            pass
    facts.setdefault("model name", platform.processor() or "unknown CPU")
    facts.setdefault("MemTotal", "?")
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("discord.py", "aiosqlite", "numpy", "scipy", "rustworkx", "matplotlib")
    )
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {facts['model name']}, nproc"
        f" {os.cpu_count()}, MemTotal {facts['MemTotal']}; Python {platform.python_version()},"
        f" {versions}; {load()}"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (for CI)")
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    args = parser.parse_args(argv)
    failed: list[str] = []
    launched = time.monotonic()
    print(f"== machine: {machine()}", flush=True)
    for name, (script, full, quick) in BENCHES.items():
        if args.only and name not in args.only:
            continue
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        result = subprocess.run(command, check=False)
        took = time.monotonic() - started
        print(f"== {name}: exit {result.returncode} after {took:.1f} s; {load()}", flush=True)
        if result.returncode != 0:
            failed.append(name)
    print(f"== all: {time.monotonic() - launched:.0f} s; {load()}", flush=True)
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
