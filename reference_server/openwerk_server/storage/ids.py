"""Node-assigned identifiers: 32 hex characters, URL-safe, inside the spec's ``ResourceId``
pattern, and never telling how many records a node holds.

Two kinds. Random ids (uuid4) tell nothing at all; they name what a node hands to others
one at a time (introductions, subscriptions, opportunities). Time-ordered ids (uuid7's
layout, RFC 9562) tell their creation time to the millisecond, which the record's own
``createdAt``/``time`` already says to whoever may see it; they name rows written in bulk
(candidates and consents of a batch, events, the processing log), where random keys cost
the database a page per row (``time_ordered_ids``).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

__all__ = ["new_id", "time_ordered_ids"]

# The version nibble (byte 6) and the variant (byte 8, 10xxxxxx) of RFC 9562 uuids.
_VERSION_7 = bytes((b & 0x0F) | 0x70 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_id() -> str:
    """A fresh resource id."""
    return uuid.uuid4().hex


def time_ordered_ids(count: int, moment: datetime) -> list[str]:
    """``count`` ids of the same shape, uuid7's layout (RFC 9562 §5.7): ``moment`` in
    milliseconds (48 bits), then the version and variant bits around 74 random bits.

    Why: a random key puts every new row on another page of each B-tree that indexes it, and
    the commit writes every dirtied page to SQLite's WAL. A search's 20 log rows dirtied ~20
    pages; a 1,000-candidate batch at 90,000 candidates dirtied ~1,000 pages in each of five
    indexes (the candidate, consent and event keys, the consents' and events' candidate id),
    and its commit took 72 ms instead of 19 (``bench/ingest.py``). Ids that grow with time
    land on the last pages. Within one moment the random bits keep them distinct; across
    moments they sort by time.
    """
    prefix = (int(moment.timestamp() * 1000) & 0xFFFF_FFFF_FFFF).to_bytes(6, "big")
    raw = bytearray(os.urandom(16 * count))
    for position, byte in enumerate(prefix):
        raw[position::16] = bytes((byte,)) * count
    raw[6::16] = raw[6::16].translate(_VERSION_7)
    raw[8::16] = raw[8::16].translate(_VARIANT)
    text = raw.hex()
    return [text[i : i + 32] for i in range(0, 32 * count, 32)]
