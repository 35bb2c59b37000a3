"""How long the synthetic generator takes for 100,000 candidates (the size of a large pool).

Prints the figures; the last line is a JSON object for scripts:
``{"candidates": 100000, "seconds": ..., "secondsWithConsents": ...}`` where ``seconds`` is
the time for the candidate records alone and ``secondsWithConsents`` for the
``{candidate, consents}`` batch items ``openwerk seed`` loads. Nothing is validated or
serialised in the timed loops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from openwerk.synthetic import Generator

N = 100_000


def _timed(label: str, items: Iterable[object]) -> float:
    start = time.perf_counter()
    count = sum(1 for _ in items)
    seconds = time.perf_counter() - start
    print(f"{label}: {count:,} in {seconds:.2f} s ({count / seconds:,.0f}/s)")
    return seconds


def main() -> None:
    gen = Generator(2026, node_id="bench-node", arbeidsmarktregio="AM13")
    next(gen.candidates(1))  # load the reference data and code lists outside the timing
    seconds = _timed("candidates", gen.candidates(N))
    with_consents = _timed("candidates with consents", gen.candidate_batch_items(N))
    result = {
        "candidates": N,
        "seconds": round(seconds, 3),
        "secondsWithConsents": round(with_consents, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
