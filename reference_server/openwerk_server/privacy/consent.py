"""Which consent purposes are in force for one consumer (spec/docs/consent.md).

A consent covers a consumer when it is ``given``, its ``givenAt`` has passed, its
``validUntil`` (a date, inclusive) has not, and its recipients include the consumer: any
member, the consumer's organisation type, or the consumer by id. Expiry needs no job:
it is decided at read time from the date, so it takes effect at once (OW-CONSENT-005).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Consumer:
    """The member a view is built for.

    ``gateway`` marks a member that reads under its own identity on behalf of everyone
    behind it: it may only see what any member may see (OW-FED-014).
    """

    client_id: str
    organisation_type: str
    gateway: bool = False


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """The parts of a stored consent that decide what it covers."""

    purposes: frozenset[str]
    recipients: Mapping[str, object]
    status: str
    given_at: datetime
    valid_until: date
    last_confirmed_at: datetime


def covers(recipients: Mapping[str, object], consumer: Consumer) -> bool:
    """Whether a consent's recipients include the consumer."""
    scope = recipients.get("scope")
    if scope == "any-member":
        return True
    if consumer.gateway:
        return False  # OW-FED-014: narrower scopes never reach a gateway
    if scope == "organisation-types":
        types = recipients.get("organisationTypes") or ()
        assert isinstance(types, list | tuple)
        return consumer.organisation_type in types
    if scope == "members":
        members = recipients.get("members") or ()
        assert isinstance(members, list | tuple)
        return consumer.client_id in members
    return False


def in_force(consent: ConsentRecord, now: datetime) -> bool:
    """Given, started, and not past its last valid day."""
    return (
        consent.status == "given" and consent.given_at <= now and consent.valid_until >= now.date()
    )


@dataclass(frozen=True, slots=True)
class Coverage:
    """The purposes in force for one consumer, and when the candidate last confirmed."""

    purposes: frozenset[str]
    last_confirmed: datetime | None


def coverage(consents: Iterable[ConsentRecord], consumer: Consumer, now: datetime) -> Coverage:
    """Union of the purposes of every consent in force that covers the consumer."""
    purposes: set[str] = set()
    last: datetime | None = None
    for consent in consents:
        if in_force(consent, now) and covers(consent.recipients, consumer):
            purposes |= consent.purposes
            if last is None or consent.last_confirmed_at > last:
                last = consent.last_confirmed_at
    return Coverage(frozenset(purposes), last)
