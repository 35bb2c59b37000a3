"""How long ``openwerk seed`` takes for 10,000 candidates and 2,000 opportunities on SQLite.

Target: under 30 s. Runs the real command (``openwerk seed ... --json``) in a subprocess into
a fresh SQLite file in a temporary folder and prints the command and the figures; the last
line is a JSON object for scripts::

    {"candidates": 10000, "opportunities": 2000, "seconds": ..., "seedSeconds": ...,
     "consents": ..., "target": 30}

``seconds`` is the wall clock of the whole command (process start, migration, generation,
writes); ``seedSeconds`` the part the command itself reports (generation and writes).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = 10_000
OPPORTUNITIES = 2_000
TARGET_SECONDS = 30


def _openwerk() -> str:
    script = Path(sys.executable).with_name("openwerk")
    return str(script) if script.exists() else "openwerk"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="openwerk-bench-seed-") as folder:
        database = Path(folder) / "node.db"
        command = [
            _openwerk(), "seed", "--database", f"sqlite:///{database}",
            "--node-id", "bench-node", "--region", "AM13",
            "--candidates", str(CANDIDATES), "--opportunities", str(OPPORTUNITIES),
            "--seed", "2026", "--json",
        ]  # fmt: skip
        print("$", shlex.join(command))
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(done.returncode)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        size = database.stat().st_size / 1_000_000
    print(
        f"{report['candidates']:,} candidates ({report['consents']:,} consents), "
        f"{report['vacancies']:,} vacancies, {report['taskOffers']:,} task offers, "
        f"{report['instruments']} instruments: {seconds:.1f} s wall clock, "
        f"{report['seconds']:.1f} s seeding, {size:.0f} MB SQLite "
        f"({'within' if seconds < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS} s target)"
    )
    print(
        json.dumps(
            {
                "candidates": report["candidates"],
                "opportunities": report["opportunities"],
                "seconds": round(seconds, 2),
                "seedSeconds": report["seconds"],
                "consents": report["consents"],
                "target": TARGET_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
