"""What the PII hunt looks for: the identifying strings of the fixture candidates.

OW-TIER-003 lists what must never leave the publication API (name, BSN, email, phone,
address, exact birth date); OW-PSEUDO-005 adds the internal candidate id. ``expected.json``
gives the fixed needles (``piiNeedles``); the birth dates and internal ids are known only at
run time (dates are shifted on load, ids are the node's), so they come from the context.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.privacy_expected import expected

__all__ = ["decoded_cursors", "needles", "relative_path"]


def needles(ctx: RunContext) -> list[tuple[str, str]]:
    """(what, value) pairs that must never appear outside the publication API."""
    found: list[tuple[str, str]] = []
    for needle in expected(ctx).get("piiNeedles", []):
        if isinstance(needle, dict) and isinstance(needle.get("value"), str):
            found.append((f"{needle.get('key')} {needle.get('field')}", needle["value"]))
    for fixture in ctx.candidates.values():
        person = fixture.document.get("person", {})
        if isinstance(person.get("birthDate"), str):
            found.append((f"{fixture.key} birthDate", person["birthDate"]))
        name = f"{person.get('givenName', '')} {person.get('familyName', '')}".strip()
        if "-" in name:  # the distinctive double-barrelled names of the README
            found.append((f"{fixture.key} name", name))
        if len(fixture.node_id) >= 8:
            found.append((f"{fixture.key} internal id", fixture.node_id))
    return found


def relative_path(ctx: RunContext, exchange: Exchange) -> str:
    """The request's path below the base URL (``/candidates/abc``)."""
    url = str(exchange.request.url)
    return url[len(ctx.base_url) :] if url.startswith(ctx.base_url) else urlsplit(url).path


def decoded_cursors(text: str) -> str:
    """The base64url-decoded ``cursor`` values of the hrefs in ``text``, one a line.

    OW-PSEUDO-005 forbids the internal id even inside a cursor; an opaque cursor is often
    plain base64 of a position, so the hunt looks inside.
    """
    decoded: list[str] = []
    for match in re.finditer(r"[?&]cursor=([A-Za-z0-9_\-%.=]+)", text):
        raw = match.group(1).replace("%3D", "=")
        for value in (raw, raw + "=" * (-len(raw) % 4)):
            try:
                decoded.append(base64.urlsafe_b64decode(value).decode("utf-8", "replace"))
                break
            except ValueError:
                continue
    return "\n".join(decoded)
