"""The node's one JSON spelling, shared by the responses and the rendering caches below them.

UTF-8 without ASCII escaping (Dutch names stay readable) and without padding. It lives in a
module of its own so storage-level caches (``storage.rendered``) can render documents exactly
as ``routes.responses`` would, without storage importing the route layer.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_bytes"]


def json_bytes(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON."""
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
