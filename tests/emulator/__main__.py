"""`python -m tests.emulator [--port N]`: the emulator in its own process.

Serves REST + gateway on 127.0.0.1 and the control endpoint `POST /_control`
(tests/emulator/control.py), prints one JSON line `{"port": N}` once it listens, and runs
until its stdin closes or it gets SIGTERM/SIGINT. `EmulatorProcess` in control.py starts
and drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading

from tests.emulator.emulator import Emulator


async def serve(port: int) -> None:
    emu = Emulator(port=port, control=True)
    await emu.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed our stdin or exited
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": emu.port}), flush=True)
    await stop.wait()
    await emu.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
