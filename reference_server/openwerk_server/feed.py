"""One consumer's events as CloudEvents 1.0: the rendering shared by the feed and webhooks.

The events table holds each change once. What a consumer gets is decided here, when its
feed (``GET /events``) or its webhook deliveries are rendered (spec/docs/events.md):

- opportunity and instrument events go to every consumer, as stored;
- introduction events are stored addressed to their requester and go only there;
- candidate events are stored with the internal id. They go only to consumers that could
  see the card (OW-EVT-002), with ``subject`` and ``data.pseudonym`` the consumer's own
  pseudonym, and an event id of their own per consumer: one id shared by two consumers would
  let them link their pseudonyms of one person. A tombstone reaches the consumers that could
  see the card before the change and cannot after it (its recorded audience); one that can
  still see it (another consent covers it, only a member of the card was lost) gets
  ``candidate.updated`` instead. A ``candidate.updated`` reaches the consumers that a
  ``matching`` consent in force covers when the feed is read, so once a consent ends the
  older updates of that card disappear from the feeds it no longer reaches
  (OW-CONSENT-006). A tombstone recorded without a known audience (an erased record, whose
  consents are gone) goes to every consumer: under its own pseudonym it tells a consumer
  that never saw the card nothing.

Event data never carries profile data or a reason (OW-EVT-003).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openwerk_server.privacy.consent import Consumer
from openwerk_server.privacy.pseudonyms import pseudonym
from openwerk_server.storage.audience import audience_covers, matching_recipients
from openwerk_server.storage.records import StoredEvent, rfc3339

__all__ = [
    "CANDIDATE_TYPES",
    "EVENT_TYPES",
    "FeedRenderer",
    "RenderedEvent",
    "event_body",
    "stored_types",
]

CANDIDATE_UPDATED = "nl.openwerk.candidate.updated"
CANDIDATE_TOMBSTONE = "nl.openwerk.candidate.tombstone"
CANDIDATE_TYPES = frozenset({CANDIDATE_UPDATED, CANDIDATE_TOMBSTONE})
EVENT_TYPES: tuple[str, ...] = (
    *(
        f"nl.openwerk.{resource}.{action}"
        for resource in ("vacancy", "task-offer", "instrument")
        for action in ("published", "updated", "closed")
    ),
    CANDIDATE_UPDATED,
    CANDIDATE_TOMBSTONE,
    "nl.openwerk.introduction.updated",
)


def stored_types(wanted: Iterable[str] | None) -> frozenset[str] | None:
    """The stored event types that can render as one of ``wanted`` (None: all)."""
    if wanted is None:
        return None
    found = set(wanted)
    if found & CANDIDATE_TYPES:
        found |= CANDIDATE_TYPES  # a stored tombstone may render as an update, and back
    return frozenset(found)


def event_body(event: Mapping[str, Any]) -> str:
    """The exact text a delivery sends: compact JSON, UTF-8, no ASCII escaping."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class RenderedEvent:
    """A CloudEvent for one consumer, with the sequence number of the row it came from."""

    seq: int
    event: dict[str, Any]

    @property
    def id(self) -> str:
        """The CloudEvent ``id``."""
        return str(self.event["id"])

    @property
    def type(self) -> str:
        """The CloudEvent ``type``."""
        return str(self.event["type"])


class FeedRenderer:
    """Renders stored events for consumers of one node."""

    def __init__(self, *, source: str, secret: bytes) -> None:
        self._source = source
        self._secret = secret
        self._id_key = hmac.new(secret, b"openwerk/v1/event-id", hashlib.sha256).digest()

    def _candidate_event_id(self, consumer: Consumer, row_id: str) -> str:
        message = f"{consumer.client_id}:{row_id}".encode()
        return hmac.new(self._id_key, message, hashlib.sha256).hexdigest()[:32]

    def _cloud_event(
        self, *, event_id: str, type_: str, subject: str, time: datetime, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": event_id,
            "source": self._source,
            "type": type_,
            "subject": subject,
            "time": rfc3339(time),
            "datacontenttype": "application/json",
            "data": data,
        }

    def _candidate_type(
        self,
        row: StoredEvent,
        consumer: Consumer,
        consents: Mapping[str, Sequence[Mapping[str, Any]]],
        now: datetime,
    ) -> str | None:
        if row.type == CANDIDATE_TOMBSTONE:
            audience = row.data.get("audience")
            if not isinstance(audience, Mapping) or audience.get("before") is None:
                return CANDIDATE_TOMBSTONE
            if not audience_covers(audience["before"], consumer):
                return None
            if audience_covers(audience.get("after") or [], consumer):
                return CANDIDATE_UPDATED
            return CANDIDATE_TOMBSTONE
        recipients = matching_recipients(consents.get(row.resource_id, ()), now)
        return CANDIDATE_UPDATED if audience_covers(recipients, consumer) else None

    def render(
        self,
        rows: Iterable[StoredEvent],
        consumer: Consumer,
        *,
        consents: Mapping[str, Sequence[Mapping[str, Any]]],
        now: datetime,
        types: frozenset[str] | None = None,
    ) -> list[RenderedEvent]:
        """The events of ``rows`` that are for ``consumer``, rendered for it.

        ``consents`` holds the current consent rows of the candidates of the rows'
        ``candidate.updated`` events (``Store.feed_rows`` loads them).
        """
        rendered: list[RenderedEvent] = []
        for row in rows:
            if row.type in CANDIDATE_TYPES:
                type_ = self._candidate_type(row, consumer, consents, now)
                if type_ is None:
                    continue
                alias = pseudonym(self._secret, consumer.client_id, row.resource_id)
                event = self._cloud_event(
                    event_id=self._candidate_event_id(consumer, row.id),
                    type_=type_,
                    subject=alias,
                    time=row.time,
                    data={"pseudonym": alias},
                )
            else:
                if row.recipient is not None and row.recipient != consumer.client_id:
                    continue
                data = {k: row.data[k] for k in ("id", "status") if k in row.data}
                event = self._cloud_event(
                    event_id=row.id, type_=row.type, subject=row.subject, time=row.time, data=data
                )
            if types is not None and event["type"] not in types:
                continue
            rendered.append(RenderedEvent(row.seq, event))
        return rendered
