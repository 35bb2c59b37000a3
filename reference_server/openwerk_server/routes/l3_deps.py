"""Dependencies of the matching, introductions and events routes.

``checked_body`` is ``deps.json_body`` with the rules of these operations' bodies (the ones
JSON Schema cannot express) supplied here; the callers are consumers resolved against the
directory like every L2 reader (``deps.consumer_for``); ``trace_of`` is the request's W3C
trace for the processing-log records an operation writes (OW-LOG-003).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request

from openwerk_server.errors import InvalidInput, InvalidParam
from openwerk_server.privacy.consent import Consumer
from openwerk_server.routes.deps import consumer_for, get_settings, moment, require_scope
from openwerk_server.rules import Moment, Rule, opportunity_rules
from openwerk_server.security import Principal
from openwerk_server.storage.introductions import Trace
from openwerk_server.validation import parse_json_body, schema_problems

__all__ = [
    "EventsReader",
    "Requester",
    "checked_body",
    "loopback_allowed",
    "trace_of",
]


def trace_of(request: Request) -> Trace:
    """The trace context ``TraceContextMiddleware`` put on the request (or a fresh one)."""
    trace_id = getattr(request.state, "trace_id", None)
    span_id = getattr(request.state, "span_id", None)
    if isinstance(trace_id, str) and isinstance(span_id, str):
        return Trace(trace_id, span_id)
    return Trace.new()


def _consumer(scope: str) -> Callable[..., Consumer]:
    checked = require_scope(scope)

    # Sync: refreshing the directory may read a file or the network, so it runs in the pool.
    # A default rather than ``Annotated[..., Depends(checked)]``: with postponed annotations
    # FastAPI cannot see the closure variable in a string annotation.
    def dependency(request: Request, principal: Principal = Depends(checked)) -> Consumer:
        return consumer_for(request, principal)

    return dependency


#: A requester of introductions (L3), as the directory describes it.
Requester = Annotated[Consumer, Depends(_consumer("introductions:write"))]
#: A reader of the events feed and owner of webhook subscriptions.
EventsReader = Annotated[Consumer, Depends(_consumer("events:read"))]


# ---------------------------------------------------------------------------- body rules
def match_rules(doc: Any, now: Moment, prefix: str = "body") -> list[InvalidParam]:
    """``MatchRequest``: inline criteria follow the rules of an opportunity (codes, hours)."""
    opportunity = doc.get("opportunity") if isinstance(doc, dict) else None
    inline = opportunity.get("inline") if isinstance(opportunity, dict) else None
    if not isinstance(inline, dict):
        return []
    return opportunity_rules(inline, now, f"{prefix}.opportunity.inline")


def _no_rules(_doc: Any, _now: Moment, _prefix: str = "body") -> list[InvalidParam]:
    return []


def loopback_allowed(request: Request) -> bool:
    """Whether this node accepts ``http://`` loopback webhook URLs (testing, OW-EVT-009)."""
    settings = get_settings(request)
    allowed = settings.webhook_allow_loopback
    return settings.environment == "development" if allowed is None else allowed


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def subscription_rules(allow_loopback: bool) -> Rule:
    """``SubscriptionInput``: https only (loopback http when testing); a secret of 24 to 64
    random bytes in base64 after ``whsec_`` (spec/docs/events.md)."""

    def rules(doc: Any, _now: Moment, prefix: str = "body") -> list[InvalidParam]:
        found: list[InvalidParam] = []
        if not isinstance(doc, dict):
            return found
        url = doc.get("url")
        if isinstance(url, str):
            parts = urlsplit(url)
            host = parts.hostname or ""
            if parts.scheme == "https" and host:
                if _is_loopback(host) and not allow_loopback:
                    found.append(
                        InvalidParam(f"{prefix}.url", "must not be a loopback address", "format")
                    )
            elif not (parts.scheme == "http" and host and allow_loopback and _is_loopback(host)):
                found.append(
                    InvalidParam(f"{prefix}.url", "must be an https URL (OW-EVT-009)", "format")
                )
            if parts.username or parts.password:
                found.append(InvalidParam(f"{prefix}.url", "must not carry credentials", "format"))
        secret = doc.get("secret")
        if isinstance(secret, str) and secret.startswith("whsec_"):
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not 24 <= len(key) <= 64:
                found.append(
                    InvalidParam(
                        f"{prefix}.secret",
                        "must be whsec_ followed by the base64 of 24 to 64 random bytes",
                        "format",
                    )
                )
        return found

    return rules


def checked_body(
    schema_name: str,
    rule: Rule = _no_rules,
    *,
    rule_for: Callable[[Request], Rule] | None = None,
) -> Callable[[Request], Awaitable[Any]]:
    """A dependency reading the JSON body, checking it against the spec's schema and
    ``rule`` (or the rule ``rule_for`` gives for the request), reporting every problem in
    one 400 (like ``deps.json_body``)."""

    async def dependency(request: Request) -> Any:
        raw = await request.body()
        document = parse_json_body(request.headers.get("content-type"), raw)
        if document is None:
            raise InvalidInput([InvalidParam("body", "a JSON document is required", "required")])
        problems = schema_problems(schema_name, document)
        failed = {p.name for p in problems}
        active = rule_for(request) if rule_for is not None else rule
        problems += [p for p in active(document, moment(request), "body") if p.name not in failed]
        if problems:
            raise InvalidInput(problems)
        return document

    return dependency
