"""How the node writes and reads the text of its JSON columns: orjson, with ``json`` where
orjson would differ.

Why not SQLAlchemy's default (``json.dumps`` / ``json.loads``): encoding the stored documents
was the largest single cost of a candidate batch in the server (~18 % of its CPU, py-spy over
``bench/ingest.py``), and decoding them most of the time a consumer's first request after a
pool change waits for its view (``load_pool`` decodes ~280,000 documents at 100,000
candidates; ``bench/README.md``, *Ingest* and *Scale note*). The engine hands both functions
to SQLAlchemy (``engine.create_node_engine``) and the bulk path uses ``json_text`` itself, so
every path stores and reads the same text.

Where the two libraries disagree, ``json`` decides, so values read back exactly as written:

- orjson cannot write integers beyond 64 bits, non-string keys or strings with lone
  surrogates; ``json_text`` then writes ``json.dumps``'s text;
- orjson reads an integer beyond 64 bits as a float, so text holding a run of 19 digits (the
  shortest integer that may not fit) is read by ``json.loads``; so is text orjson refuses
  (a lone surrogate escape).

Text written before (``json.dumps``'s spaced, ``\\u``-escaped form) reads as it did.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["json_text", "json_value"]

#: Every byte to ``0`` if it is an ASCII digit, else to a space: a run of 19 digits becomes 19
#: zeros. An integer that may not fit in 64 bits (or a long float or string of digits, which
#: ``json.loads`` reads as well, only slower). A translate and a substring search: a fifth
#: of what ``re.search(r"\d{19}")`` costs, which was more than the decode itself.
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def json_text(value: Any) -> str:
    """The JSON text the node stores for ``value`` (compact UTF-8; ``json.dumps`` for what
    orjson refuses)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(value)


def json_value(text: str | bytes) -> Any:
    """The value of stored JSON ``text`` (psycopg hands bytes, sqlite3 a string)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _LONG_RUN not in raw.translate(_DIGITS):
        try:
            return orjson.loads(raw)  # the bytes already made: orjson reads them as they are
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
