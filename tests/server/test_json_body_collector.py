"""Large bodies are decoded with the garbage collector paused, and it always comes back.

``parse_json_body`` switches Python's cyclic collector off while it decodes a body of
``PAUSE_COLLECTOR_BYTES`` or more (a 1,000-candidate batch spent most of its decoding time in
collections that cannot free anything; issue 8). A pause that outlived the request would leak
every reference cycle the process makes afterwards, so: the collector is off during the
decoding, on again afterwards — also when the body is refused, also when threads decode at
once — and left off when something else had switched it off.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from openwerk_server import validation
from openwerk_server.errors import MalformedBody
from openwerk_server.validation import PAUSE_COLLECTOR_BYTES, parse_json_body

LARGE = json.dumps({"items": [{"n": n, "text": "x" * 50} for n in range(2000)]}).encode()


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def _watch_decoding(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record ``gc.isenabled()`` at each decode."""
    seen: list[bool] = []
    decode = validation._decode

    def watched(text: str) -> Any:
        seen.append(gc.isenabled())
        return decode(text)

    monkeypatch.setattr(validation, "_decode", watched)
    return seen


def test_a_large_body_is_decoded_with_the_collector_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(LARGE) >= PAUSE_COLLECTOR_BYTES
    seen = _watch_decoding(monkeypatch)
    assert parse_json_body("application/json", LARGE) == json.loads(LARGE)
    assert parse_json_body("application/json", b'{"small": true}') == {"small": True}
    assert seen == [False, True]  # small bodies are not worth a pause
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_body_is_refused() -> None:
    with pytest.raises(MalformedBody):
        parse_json_body("application/json", LARGE[:-1])
    with pytest.raises(MalformedBody):
        parse_json_body("application/json", LARGE[:-1] + b"NaN}")
    assert gc.isenabled()


def test_a_collector_switched_off_elsewhere_stays_off() -> None:
    gc.disable()
    parse_json_body("application/json", LARGE)
    assert not gc.isenabled()


def test_overlapping_decodes_resume_it_once_the_last_one_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Thread A starts decoding, B starts and ends inside A's pause: still off until A ends."""
    a_inside, b_done = threading.Event(), threading.Event()
    during: dict[str, bool] = {}
    decode = validation._decode

    def slow(text: str) -> Any:
        if threading.current_thread().name == "A":
            a_inside.set()
            assert b_done.wait(10)
            during["A after B"] = gc.isenabled()
        return decode(text)

    monkeypatch.setattr(validation, "_decode", slow)
    a = threading.Thread(target=parse_json_body, args=("application/json", LARGE), name="A")
    a.start()
    assert a_inside.wait(10)
    parse_json_body("application/json", LARGE)
    during["after B"] = gc.isenabled()
    b_done.set()
    a.join(10)
    assert during == {"after B": False, "A after B": False}
    assert gc.isenabled()
