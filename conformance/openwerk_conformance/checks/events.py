"""Events class: the feed (order, paging, tombstones) and signed webhook deliveries.

The feed checks make events happen — a probe vacancy published and closed, a scenario member's
consent withdrawn (``scenario.py``), an introduction cancelled — and read what follows the
``links.next`` saved before. The webhook checks subscribe a loopback receiver
(``webhook_receiver.py``); a node that refuses loopback URLs is not configured for testing
(OW-EVT-009 allows only that exception), so those checks SKIP there with that reason. The
full retry schedule takes about 28 hours; the suite waits for the first retry only.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.probes import PUBLISHER, close_vacancy, publish_probe
from openwerk_conformance.registry import CheckSet, Outcome
from openwerk_conformance.scenario import Cohort, CohortError, cohort
from openwerk_conformance.schema import expect_json, expect_problem, invalid_param_names
from openwerk_conformance.webhook_receiver import Receiver, new_secret, receiver
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.EVENTS)

CONSUMER: Final = "consumer-a"
OTHER: Final = "consumer-b"
EVENTS_SCOPE: Final = "events:read"
WRITE_SCOPE: Final = "publication:write"
TOMBSTONE: Final = "nl.openwerk.candidate.tombstone"
PUBLISHED: Final = "nl.openwerk.vacancy.published"
#: The only members event data may have (OW-EVT-003).
DATA_MEMBERS: Final = frozenset({"id", "status", "pseudonym"})
#: How long the suite waits for a first delivery, and for the first retry (5 s + 10 % jitter).
DELIVERY_WAIT: Final = 10.0
RETRY_WAIT: Final = 15.0
#: Words a tombstone must not carry: each would tell why the card went.
REASON_WORDS: Final = ("withdraw", "erase", "expire", "withheld", "anonym", "consent", "reason")
_MAX_FEED_PAGES: Final = 200


@dataclass
class Feed:
    """Events read from a feed, the href to resume at, and what was wrong on the way."""

    events: list[dict[str, Any]] = field(default_factory=list)
    next_href: str | None = None
    problems: list[str] = field(default_factory=list)


def read_feed(ctx: RunContext, client: str, start: str | None = None, limit: int = 100) -> Feed:
    """Follow ``links.next`` from ``start`` (default: the beginning) until a page is empty."""
    feed = Feed()
    exchange = (
        ctx.fetch("GET", "/events", client=client, scope=EVENTS_SCOPE, params={"limit": limit})
        if start is None
        else ctx.fetch("GET", ctx.resolve(start), client=client, scope=EVENTS_SCOPE)
    )
    for _ in range(_MAX_FEED_PAGES):
        body, problems = expect_json(exchange, 200, "EventPage")
        feed.problems += problems
        items = body.get("items") if isinstance(body, dict) else None
        links = body.get("links") if isinstance(body, dict) else None
        nxt = links.get("next") if isinstance(links, dict) else None
        href = nxt.get("href") if isinstance(nxt, dict) else None
        if not isinstance(items, list) or not isinstance(href, str):
            feed.problems.append(f"{exchange.describe()}: a feed page needs items and links.next")
            return feed
        feed.events += [e for e in items if isinstance(e, dict)]
        feed.next_href = href
        if not items:
            return feed
        exchange = ctx.fetch("GET", ctx.resolve(href), client=client, scope=EVENTS_SCOPE)
    feed.problems.append(f"the feed did not end after {_MAX_FEED_PAGES} pages")
    return feed


def order_problems(events: list[dict[str, Any]]) -> list[str]:
    """Oldest first, each id once."""
    problems: list[str] = []
    ids = [str(e.get("id")) for e in events]
    if len(set(ids)) != len(ids):
        problems.append(f"the feed repeats {len(ids) - len(set(ids))} event ids")
    times = [str(e.get("time")) for e in events]
    for place, (before, after) in enumerate(itertools.pairwise(times)):
        if _instant(after) < _instant(before):
            problems.append(f"event {place + 1} ({after}) is older than event {place} ({before})")
            break
    return problems


def _instant(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def data_problems(events: list[dict[str, Any]], forbidden: list[str]) -> list[str]:
    """Event data holds references only, and no event names a forbidden text."""
    problems: list[str] = []
    for event in events:
        data = event.get("data")
        extra = sorted(set(data) - DATA_MEMBERS) if isinstance(data, dict) else ["<not object>"]
        if extra:
            problems.append(f"event {event.get('id')} ({event.get('type')}) carries data {extra}")
        text = json.dumps(event).lower()
        for needle in forbidden:
            if needle.lower() in text:
                problems.append(f"event {event.get('id')} ({event.get('type')}) holds {needle!r}")
    return problems


@CHECKS.check(
    id="EVT-001",
    title="The feed is CloudEvents, oldest first; links.next resumes without loss or repeat",
    requirements=["OW-EVT-001"],
    needs=[CONSUMER, PUBLISHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def feed_order(ctx: RunContext) -> Outcome:
    mark = read_feed(ctx, CONSUMER)
    problems = mark.problems + order_problems(mark.events)
    if mark.next_href is None:
        return Outcome.of(problems)
    probes: list[str] = []
    for _ in range(2):
        _, created = publish_probe(ctx, "events")
        probe = created.json()
        if created.status != 201 or not isinstance(probe, dict):
            return Outcome.fail(*problems, f"{created.describe()}: could not publish a probe")
        close_vacancy(ctx, probe["id"])
        probes.append(str(probe["id"]))
    paged = read_feed(ctx, CONSUMER, start=mark.next_href)
    again = read_feed(ctx, CONSUMER, start=mark.next_href, limit=2)
    problems += paged.problems + again.problems + order_problems(mark.events + paged.events)
    if [e.get("id") for e in again.events] != [e.get("id") for e in paged.events]:
        problems.append(
            f"after the saved links.next, pages of 2 give {len(again.events)} events and pages "
            f"of 100 {len(paged.events)}, or in another order"
        )
    for probe_id in probes:
        kinds = [e.get("type") for e in paged.events if (e.get("data") or {}).get("id") == probe_id]
        if kinds != [PUBLISHED, "nl.openwerk.vacancy.closed"]:
            problems.append(
                f"after the saved links.next probe vacancy {probe_id} has events {kinds}, "
                "not published then closed"
            )
    whole = read_feed(ctx, CONSUMER)
    if [e.get("id") for e in whole.events] != [e.get("id") for e in mark.events + paged.events]:
        problems.append("reading the feed from its start does not give the same events again")
    return Outcome.of(problems, note=f"{len(mark.events)} events before, {len(paged.events)} new")


def _tombstones(ctx: RunContext, group: Cohort) -> Outcome:
    clients = [c for c in (CONSUMER, OTHER) if ctx.has_credentials(c)]
    seen = {c: group.pseudonyms(ctx, c) for c in clients}
    last = group.members[-1]
    if last.index not in seen[CONSUMER]:
        return Outcome.fail(
            "consumer-a does not see the scenario member whose consent is withdrawn"
        )
    marks = {c: read_feed(ctx, c) for c in clients}
    problems = [p for feed in marks.values() for p in feed.problems]
    path = f"/publication/candidates/{last.candidate_id}/consents/{last.consent_id}/withdrawal"
    withdrawal = ctx.fetch("POST", path, client=PUBLISHER, scope=WRITE_SCOPE)
    if withdrawal.status not in (200, 201, 202):
        return Outcome.fail(*problems, f"{withdrawal.describe()}: the withdrawal was refused")
    forbidden = [group.marker, last.family_name, last.candidate_id]
    for client in clients:
        start = marks[client].next_href
        after = read_feed(ctx, client, start=start) if start else Feed()
        problems += after.problems + data_problems(after.events, forbidden)
        own = seen[client].get(last.index)
        others = {p for c, ps in seen.items() if c != client for p in ps.values()} - set(
            seen[client].values()
        )
        for event in after.events:
            named = {event.get("subject"), (event.get("data") or {}).get("pseudonym")}
            if named & others:
                problems.append(f"{client}'s feed names another consumer's pseudonym")
        stones = [e for e in after.events if e.get("type") == TOMBSTONE]
        if own is None:
            continue
        hits = [e for e in stones if e.get("subject") == own]
        if not hits:
            problems.append(f"no tombstone under {client}'s pseudonym after the withdrawal")
        for hit in hits:
            if hit.get("data") != {"pseudonym": own}:
                problems.append(f"{client}'s tombstone data is {hit.get('data')!r}")
            text = json.dumps(hit).lower()
            problems += [
                f"{client}'s tombstone says {word!r}" for word in REASON_WORDS if word in text
            ]
    return Outcome.of(problems)


def _with_cohort(ctx: RunContext, purpose: str) -> Outcome:
    try:
        with cohort(ctx, purpose) as group:
            return _tombstones(ctx, group)
    except CohortError as exc:
        return Outcome.fail(f"could not publish the scenario cohort: {exc}")


@CHECKS.check(
    id="EVT-002",
    title="A withdrawal is a tombstone under each consumer's own pseudonym, with no reason",
    requirements=["OW-CONSENT-007", "OW-EVT-002", "OW-EVT-003"],
    needs=[CONSUMER, PUBLISHER],
)
def tombstone(ctx: RunContext) -> Outcome:
    return _with_cohort(ctx, "tomb")


def subscribe(ctx: RunContext, url: str, secret: str, client: str = CONSUMER) -> Exchange:
    """createSubscription for vacancy.published deliveries to ``url``."""
    body = {"url": url, "types": [PUBLISHED], "secret": secret}
    return ctx.fetch("POST", "/subscriptions", client=client, scope=EVENTS_SCOPE, json_body=body)


def _unsubscribe(ctx: RunContext, subscription: str) -> None:
    ctx.fetch("DELETE", f"/subscriptions/{subscription}", client=CONSUMER, scope=EVENTS_SCOPE)


def _subscription_exchanges(ctx: RunContext) -> list[Exchange]:
    return [e for e in ctx.history if "/subscriptions" in e.request.url.path]


def _secret_problems(exchanges: list[Exchange], secret: str) -> list[str]:
    key = secret.removeprefix("whsec_")
    return [
        f"{e.describe()}: the response holds the subscription secret"
        for e in exchanges
        if key in e.response.text
    ]


class LoopbackRefused(Exception):  # noqa: N818 - a condition of the node, not a suite error
    """The node answered the loopback subscription with a 400 naming ``url``."""


def _deliver_probe(
    ctx: RunContext, target: Receiver, secret: str, count: int, wait: float
) -> tuple[str | None, list[str]]:
    """Subscribe, publish a probe vacancy, and wait for ``count`` deliveries of its event.

    Raises :class:`LoopbackRefused` when the node refuses the receiver's URL.
    """
    made = subscribe(ctx, target.url(), secret)
    if made.status == 400 and any("url" in name for name in invalid_param_names(made)):
        raise LoopbackRefused
    sub, problems = expect_json(made, 201, "Subscription")
    if not isinstance(sub, dict) or "id" not in sub:
        return None, problems or [f"{made.describe()}: no subscription"]
    _, created = publish_probe(ctx, "webhook")
    probe = created.json()
    if created.status != 201 or not isinstance(probe, dict):
        _unsubscribe(ctx, sub["id"])
        return None, [f"{created.describe()}: could not publish a probe vacancy"]
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        mine = [d for d in target.wait_for(count, 0.5) if probe["id"].encode() in d.body]
        if len(mine) >= count:
            break
    close_vacancy(ctx, probe["id"])
    return str(sub["id"]), problems


_LOOPBACK_REFUSED: Final = (
    "the node refuses a loopback (http://127.0.0.1) subscription URL, so it is not configured "
    "for testing and the suite's receiver cannot be reached (OW-EVT-009; the reference "
    "server accepts them with webhook_allow_loopback = true)"
)


@CHECKS.check(
    id="EVT-003",
    title="Deliveries are signed per Standard Webhooks; the secret is never echoed",
    requirements=["OW-EVT-004", "OW-EVT-008", "OW-EVT-007"],
    needs=[CONSUMER, PUBLISHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def signed_delivery(ctx: RunContext) -> Outcome:
    secret = new_secret()
    with receiver() as target:
        try:
            sub, problems = _deliver_probe(ctx, target, secret, 1, DELIVERY_WAIT)
        except LoopbackRefused:
            return Outcome.skip(_LOOPBACK_REFUSED)
        if sub is None:
            return Outcome.fail(*problems)
        try:
            problems += _delivery_problems(ctx, target, secret, sub)
        finally:
            _unsubscribe(ctx, sub)
    problems += _secret_problems(_subscription_exchanges(ctx), secret)
    feed = read_feed(ctx, CONSUMER)
    if any(secret.removeprefix("whsec_") in json.dumps(e) for e in feed.events):
        problems.append("an event in the subscriber's feed holds the subscription secret")
    return Outcome.of(problems)


def _delivery_problems(ctx: RunContext, target: Receiver, secret: str, sub: str) -> list[str]:
    problems: list[str] = []
    got = [d for d in target.deliveries if b'"nl.openwerk.vacancy.published"' in d.body]
    if not got:
        return [f"no delivery reached the receiver within {DELIVERY_WAIT:.0f} s"]
    delivery = got[0]
    if not delivery.signed_by(secret):
        problems.append(
            f"the webhook-signature {delivery.header('webhook-signature')!r} does not verify "
            "with the subscription's secret"
        )
    stamp = delivery.header("webhook-timestamp") or ""
    if not stamp.isdigit() or abs(int(stamp) - time.time()) > 300:
        problems.append(f"webhook-timestamp {stamp!r} is not the Unix time of the attempt")
    event = json.loads(delivery.body) if delivery.body.startswith(b"{") else {}
    if delivery.header("webhook-id") != event.get("id"):
        problems.append("webhook-id is not the delivered CloudEvent's id")
    for path in ("/subscriptions", f"/subscriptions/{sub}", f"/subscriptions/{sub}/deliveries"):
        ctx.fetch("GET", path, client=CONSUMER, scope=EVENTS_SCOPE)
    listing = ctx.fetch(
        "GET", f"/subscriptions/{sub}/deliveries", client=CONSUMER, scope=EVENTS_SCOPE
    )
    page, found = expect_json(listing, 200, "DeliveryPage")
    problems += found
    items = page.get("items") if isinstance(page, dict) else []
    if not any(isinstance(i, dict) and i.get("eventId") == event.get("id") for i in items or []):
        problems.append("listSubscriptionDeliveries does not show the delivery just made")
    if ctx.has_credentials(OTHER):
        for path in (f"/subscriptions/{sub}", f"/subscriptions/{sub}/deliveries"):
            foreign = ctx.fetch("GET", path, client=OTHER, scope=EVENTS_SCOPE)
            problems += expect_problem(foreign, 404, code=ProblemCode.NOT_FOUND)
    return problems


@CHECKS.check(
    id="EVT-004",
    title="A subscription URL that is not https (nor loopback) is refused with 400",
    requirements=["OW-EVT-009", "OW-EVT-008"],
    needs=[CONSUMER],
)
def plain_http_refused(ctx: RunContext) -> Outcome:
    problems: list[str] = []
    secret = new_secret()
    for url in ("http://webhooks.example.org/hook", "ftp://webhooks.example.org/hook"):
        made = subscribe(ctx, url, secret)
        problems += expect_problem(made, 400, code=ProblemCode.INVALID_PARAMETERS)
        body = made.json()
        if made.status < 300 and isinstance(body, dict) and "id" in body:
            _unsubscribe(ctx, str(body["id"]))
    problems += _secret_problems(_subscription_exchanges(ctx), secret)
    return Outcome.of(problems)


@CHECKS.check(
    id="EVT-005",
    title="A failed delivery is retried after about 5 s with the same webhook-id",
    requirements=["OW-EVT-005", "OW-EVT-007"],
    needs=[CONSUMER, PUBLISHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)
def first_retry(ctx: RunContext) -> Outcome:
    secret = new_secret()
    with receiver(fail_first=1) as target:
        try:
            sub, problems = _deliver_probe(ctx, target, secret, 2, RETRY_WAIT)
        except LoopbackRefused:
            return Outcome.skip(_LOOPBACK_REFUSED)
        if sub is None:
            return Outcome.fail(*problems)
        try:
            got = [d for d in target.deliveries if b'"nl.openwerk.vacancy.published"' in d.body]
            if len(got) < 2:
                return Outcome.fail(
                    f"{len(got)} attempt(s) within {RETRY_WAIT:.0f} s after a 500; the schedule "
                    "retries after 5 s"
                )
            first, second = got[0], got[1]
            if first.header("webhook-id") != second.header("webhook-id"):
                problems.append("the retry carries another webhook-id than the first attempt")
            delay = second.received_at - first.received_at
            if not 4.0 <= delay <= RETRY_WAIT:
                problems.append(f"the first retry came after {delay:.1f} s; the schedule says 5 s")
            if not second.signed_by(secret):
                problems.append("the retry is not signed with the subscription's secret")
            problems += _attempts_problems(ctx, sub, str(second.header("webhook-id")))
            return Outcome.of(problems, note=f"first retry after {delay:.1f} s")
        finally:
            _unsubscribe(ctx, sub)


def _attempts_problems(ctx: RunContext, sub: str, event_id: str) -> list[str]:
    """The delivery list shows both attempts and the 2xx that ended them (OW-EVT-007)."""
    listing = ctx.fetch(
        "GET", f"/subscriptions/{sub}/deliveries", client=CONSUMER, scope=EVENTS_SCOPE
    )
    page, problems = expect_json(listing, 200, "DeliveryPage")
    items = page.get("items") if isinstance(page, dict) else None
    found = [i for i in items or [] if isinstance(i, dict) and i.get("eventId") == event_id]
    if not found:
        return [*problems, "listSubscriptionDeliveries does not show the retried delivery"]
    delivery = found[0]
    expected = {"attempts": 2, "status": "delivered", "lastResponseStatus": 204}
    for key, value in expected.items():
        if delivery.get(key) != value:
            problems.append(f"the retried delivery shows {key} {delivery.get(key)!r}, not {value}")
    return problems
