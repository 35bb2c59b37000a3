"""Candidates class: who may see which card, in what form, under which pseudonym.

These checks read the node as both fixture consumers and compare with ``expected.json``
(spec/v1/fixtures/README.md): only consented candidates are served, every published class has
at least k identical cards, the two consumers' pseudonyms cannot be joined, support needs and
eligibility follow the consent, and nothing identifying leaves the publication API. The
withdrawal check builds its own small scenario (k + 2 candidates in one class), withdraws and
erases, and removes it again, so reruns and later checks see the fixture state unchanged.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from openwerk_conformance.candidate_fixtures import candidate_items
from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.oauth import make_assertion
from openwerk_conformance.privacy_expected import (
    ConsumerView,
    at_load,
    expected,
    fixture_only,
    node_k,
    view_of,
)
from openwerk_conformance.privacy_needles import decoded_cursors, needles, relative_path
from openwerk_conformance.privacy_reads import (
    CONSUMERS,
    READ_SCOPE,
    WRITE_SCOPE,
    fingerprint,
    walk_as,
)
from openwerk_conformance.privacy_scenario import (
    SCENARIO_PREFIX,
    erase_scenario,
    probe_record,
    scenario_consent,
    scenario_record,
)
from openwerk_conformance.registry import FIXTURES, CheckSet, Outcome
from openwerk_conformance.schema import expect_json, expect_problem
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.CANDIDATES)

_PUBLISHER: Final = "publisher"
_BOTH: Final = [FIXTURES, _PUBLISHER, *CONSUMERS]
_TEN_YEAR: Final = re.compile(r"^([0-9]+)-([0-9]+)$")


def _no_candidates(ctx: RunContext) -> Outcome | None:
    if ctx.candidate_problem is not None or not ctx.candidates:
        return Outcome.skip(
            f"the fixture candidates are not available: {ctx.candidate_problem or 'none loaded'}"
        )
    return None


def _views(ctx: RunContext) -> dict[str, ConsumerView]:
    return {c: view_of(ctx, c) for c in CONSUMERS}


def _key_of(ctx: RunContext, node_id: str) -> str | None:
    for fixture in ctx.candidates.values():
        if fixture.node_id == node_id:
            return fixture.key
    return None


@CHECKS.check(
    id="CAND-001",
    title="The landing page states a k of at least 5",
    requirements=["OW-KANON-001"],
)
def landing_k(ctx: RunContext) -> Outcome:
    k = node_k(ctx)
    if k is None:
        return Outcome.fail("the landing page has no integer k")
    return Outcome.of([] if k >= 5 else [f"the landing page states k = {k}, below 5"])


@CHECKS.check(
    id="CAND-002",
    title="Each consumer is served only candidates whose matching consent names it",
    requirements=["OW-CAND-001", "OW-CONSENT-002", "OW-CONSENT-006", "OW-KANON-006"],
    needs=_BOTH,
)
def consented_only(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    exact = fixture_only(ctx)
    problems: list[str] = []
    for consumer, view in _views(ctx).items():
        problems += view.problems
        want = at_load(ctx, consumer)
        invisible = want.get("invisible", {})
        withheld = want.get("kAnonymity", {}).get("withheld", {})
        for key in sorted(view.by_key):
            if key in invisible:
                problems.append(
                    f"{consumer} is served a card for {key}, which it must not see "
                    f"({invisible[key]})"
                )
            elif key in withheld:
                problems.append(
                    f"{consumer} is served a card for {key}, which the k-anonymity gate withholds "
                    f"(class of {withheld[key]} at the last level)"
                )
        if exact:
            missing = sorted(set(want.get("kAnonymity", {}).get("cards", {})) - set(view.by_key))
            if missing and node_k(ctx) == want.get("kAnonymity", {}).get("k"):
                problems.append(
                    f"{consumer} is not served {len(missing)} consented, publishable candidates, "
                    f"e.g. {', '.join(missing[:5])}"
                )
    return Outcome.of(problems, note="fixture-only pool" if exact else "mixed pool")


def _band_width(band: object) -> int | None:
    match = _TEN_YEAR.match(band) if isinstance(band, str) else None
    return int(match.group(2)) - int(match.group(1)) + 1 if match else None


def _location(card: dict[str, Any]) -> dict[str, Any]:
    location = card.get("location")
    return location if isinstance(location, dict) else {}


def _generalised_problems(consumer: str, card: dict[str, Any]) -> list[str]:
    """``generalised`` must name exactly what the card lacks or shows coarser (OW-KANON-005)."""
    said = set(card.get("generalised") or [])
    location = _location(card)
    actual = set()
    if "gemeente" not in location:
        actual.add("location")
    if _band_width(card.get("ageBand")) == 10:
        actual.add("ageBand")
    if "educationLevel" not in card:
        actual.add("educationLevel")
    if said != actual:
        return [
            f"{consumer}: card {card.get('id')} says generalised {sorted(said)}, "
            f"but it shows {sorted(actual)} generalised"
        ]
    return []


def _qi(card: dict[str, Any]) -> tuple[object, ...]:
    location = _location(card)
    return (
        location.get("gemeente"),
        location.get("arbeidsmarktregio"),
        card.get("ageBand"),
        card.get("educationLevel"),
    )


@CHECKS.check(
    id="CAND-003",
    title="Every published class has at least k cards and the ladder's outcome is served",
    requirements=["OW-KANON-002", "OW-KANON-003", "OW-KANON-004", "OW-KANON-005"],
    needs=_BOTH,
)
def k_anonymous(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    k = node_k(ctx) or 5
    exact = fixture_only(ctx)
    problems: list[str] = []
    for consumer, view in _views(ctx).items():
        problems += view.problems
        sizes = Counter(_qi(card) for card in view.cards)
        for qi, size in sorted(sizes.items(), key=str):
            if size < k:
                problems.append(
                    f"{consumer}: only {size} card(s) share location/ageBand/educationLevel "
                    f"{qi}, fewer than k = {k}"
                )
        for card in view.cards:
            problems += _generalised_problems(consumer, card)
        want = at_load(ctx, consumer).get("kAnonymity", {})
        if exact and want.get("k") == k:
            for key, card_want in sorted(want.get("cards", {}).items()):
                served = view.by_key.get(key)
                if served is None:
                    continue
                card = served
                location = _location(card)
                got = {
                    "location": location.get("gemeente") or location.get("arbeidsmarktregio"),
                    "ageBand": card.get("ageBand"),
                    "educationLevel": card.get("educationLevel"),
                    "generalised": sorted(card.get("generalised") or []),
                }
                wanted = {
                    "location": card_want.get("location"),
                    "ageBand": card_want.get("ageBand"),
                    "educationLevel": card_want.get("educationLevel"),
                    "generalised": sorted(card_want.get("generalised") or []),
                }
                if got != wanted:
                    problems.append(
                        f"{consumer}: the card of {key} shows {got}; the ladder gives {wanted} "
                        f"(level {card_want.get('level')})"
                    )
        # OW-KANON-004: a filtered search shows the same card as the full view.
        sample = next(iter(sorted(view.by_key.items())), None)
        if sample is not None:
            key, card = sample
            gemeente = (card.get("location") or {}).get("gemeente")
            if gemeente:
                narrow = view_of(ctx, consumer, {"gemeente": gemeente})
                again = narrow.by_key.get(key)
                if again is not None and _qi(again) != _qi(card):
                    problems.append(
                        f"{consumer}: {key} is {_qi(card)} in the full search but {_qi(again)} "
                        "in a search filtered by its gemeente"
                    )
    return Outcome.of(problems)


@CHECKS.check(
    id="CAND-004",
    title="listWithheldProfiles reports every withheld profile with class size and k",
    requirements=["OW-KANON-007"],
    needs=_BOTH,
    needs_classes=[ConformanceClass.PUBLICATION],
)
def withheld_report(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    exact = fixture_only(ctx)
    problems: list[str] = []
    for consumer in CONSUMERS:
        member = ctx.credential(consumer).client_id
        listing = walk_as(
            ctx,
            "/publication/withheld-profiles",
            _PUBLISHER,
            WRITE_SCOPE,
            {"consumer": member, "limit": 100},
            page_schema="WithheldProfilePage",
        )
        problems += listing.problems
        first = listing.pages[0].json() if listing.pages else None
        reported = {
            key: item
            for item in listing.items
            if (key := _key_of(ctx, str(item.get("candidateId")))) is not None
        }
        want = at_load(ctx, consumer).get("kAnonymity", {})
        if not exact or want.get("k") != node_k(ctx):
            continue
        for key, size in sorted(want.get("withheld", {}).items()):
            item = reported.get(key)
            if item is None:
                problems.append(f"{consumer}: {key} is withheld but not reported")
            elif item.get("classSize") != size or item.get("k") != node_k(ctx):
                problems.append(
                    f"{consumer}: {key} reported with classSize {item.get('classSize')} and "
                    f"k {item.get('k')}; expected {size} and {node_k(ctx)}"
                )
        extra = sorted(set(reported) - set(want.get("withheld", {})))
        if extra:
            problems.append(f"{consumer}: reported as withheld but published: {extra[:5]}")
        if isinstance(first, dict):
            total = first.get("publishedCount", 0) + first.get("withheldCount", 0)
            if first.get("publishedCount") != want.get("publishedCount"):
                problems.append(
                    f"{consumer}: publishedCount {first.get('publishedCount')}, expected "
                    f"{want.get('publishedCount')}"
                )
            consented = at_load(ctx, consumer).get("consentedCount")
            if total != consented:
                problems.append(
                    f"{consumer}: publishedCount + withheldCount = {total}, but "
                    f"{consented} candidates consented"
                )
    return Outcome.of(problems)


def _fresh_token(ctx: RunContext, client: str) -> str | None:
    """A second access token for ``client`` (not the cached one)."""
    credentials = ctx.credential(client)
    exchange = ctx.request_token(make_assertion(credentials, ctx.token_endpoint), READ_SCOPE)
    body = exchange.json()
    token = body.get("access_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None


def _problem_shape(exchange: Exchange) -> tuple[object, ...]:
    body = exchange.json()
    if not isinstance(body, dict):
        return (exchange.status, exchange.media_type)
    return (exchange.status, exchange.media_type, body.get("type"), body.get("title"))


@CHECKS.check(
    id="CAND-005",
    title="Pseudonyms differ between consumers, stay stable for one, and are unknown to others",
    requirements=["OW-PSEUDO-002", "OW-PSEUDO-003", "OW-PSEUDO-004", "OW-CAND-002"],
    needs=_BOTH,
)
def pseudonyms(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    views = _views(ctx)
    a, b = views["consumer-a"], views["consumer-b"]
    problems = a.problems + b.problems
    both = sorted(set(a.by_key) & set(b.by_key))
    if not both:
        return Outcome.skip("no fixture candidate is visible to both consumers")
    for key in both:
        if a.pseudonym(key) == b.pseudonym(key):
            problems.append(f"{key} carries the pseudonym {a.pseudonym(key)} for both consumers")
    shared = {c.get("id") for c in a.cards} & {c.get("id") for c in b.cards}
    if shared and not problems:
        problems.append(f"the consumers' views share pseudonyms: {sorted(map(str, shared))[:3]}")
    token = _fresh_token(ctx, "consumer-a")
    if token is not None:
        again = view_of(ctx, "consumer-a", token=token)
        problems += again.problems
        moved = [k for k in a.by_key if again.pseudonym(k) != a.pseudonym(k)]
        if moved:
            problems.append(f"with a new token consumer-a sees other pseudonyms for {moved[:5]}")
    key = both[0]
    own = ctx.fetch("GET", f"/candidates/{a.pseudonym(key)}", client="consumer-a", scope=READ_SCOPE)
    card, found = expect_json(own, 200, "CandidateProfile")
    problems += found
    if isinstance(card, dict) and card.get("id") != a.pseudonym(key):
        problems.append(f"getCandidate answers id {card.get('id')} for {a.pseudonym(key)}")
    foreign = ctx.fetch(
        "GET", f"/candidates/{b.pseudonym(key)}", client="consumer-a", scope=READ_SCOPE
    )
    unknown = ctx.fetch(
        "GET",
        f"/candidates/{base64.urlsafe_b64encode(secrets.token_bytes(17)).decode()[:22]}",
        client="consumer-a",
        scope=READ_SCOPE,
    )
    if foreign.status != 404:
        problems.append(f"consumer-a fetching consumer-b's pseudonym: {foreign.describe()}")
    if unknown.status != 404:
        problems.append(f"a pseudonym that never existed: {unknown.describe()}")
    if _problem_shape(foreign) != _problem_shape(unknown):
        problems.append(
            "another consumer's pseudonym and an unknown one get different answers: "
            f"{_problem_shape(foreign)} vs {_problem_shape(unknown)}"
        )
    return Outcome.of(problems)


@CHECKS.check(
    id="CAND-006",
    title="Support needs and eligibility appear only under a consent that shares them",
    requirements=["OW-CAND-003", "OW-CAND-004"],
    needs=_BOTH,
)
def shared_purposes(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    problems: list[str] = []
    for consumer, view in _views(ctx).items():
        problems += view.problems
        want = at_load(ctx, consumer)
        for member in ("supportNeeds", "eligibility"):
            rule = want.get(member, {})
            for key in rule.get("mustShow", []):
                card = view.by_key.get(key)
                if card is not None and not card.get(member):
                    problems.append(f"{consumer}: the card of {key} lacks its shared {member}")
            for key in rule.get("mustHide", []):
                card = view.by_key.get(key)
                if card is not None and card.get(member):
                    problems.append(
                        f"{consumer}: the card of {key} shows {member} without a consent for it"
                    )
        for card in view.cards:
            for entry in card.get("eligibility") or []:
                extra = set(entry) - {"type", "validUntil", "issuerType"}
                if extra:
                    problems.append(f"{consumer}: eligibility entry with {sorted(extra)}")
    return Outcome.of(problems)


_CARD_OWN: Final = frozenset({"id", "node", "lastConfirmed", "generalised", "location", "ageBand"})


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, path)]
    return [(path, value)] if isinstance(value, str) else []


@CHECKS.check(
    id="CAND-007",
    title="Cards carry only CandidateProfile members and no free text",
    requirements=["OW-TIER-001", "OW-TIER-002", "OW-PRIV-001"],
    needs=_BOTH,
)
def card_members(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    problems: list[str] = []
    for consumer, view in _views(ctx).items():
        problems += view.problems  # the pages are validated against CandidatePage
        for key, card in sorted(view.by_key.items()):
            document = dict(ctx.candidates[key].document)
            document.pop("person", None)
            document.pop("externalReference", None)
            allowed = {s for _, s in _strings(document)}
            for path, text in _strings(card):
                if path.split(".")[0] in _CARD_OWN:
                    continue
                if text not in allowed:
                    problems.append(
                        f"{consumer}: the card of {key} has {path} = {text[:60]!r}, which is no "
                        "code or label of the record"
                    )
    return Outcome.of(problems[:20])


@CHECKS.check(
    id="CAND-008",
    title="A gemeente filter selects by the card as served, not by the hidden gemeente",
    requirements=["OW-CAND-005"],
    needs=_BOTH,
)
def filters_on_card(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    problems: list[str] = []
    for consumer, view in _views(ctx).items():
        gemeenten = Counter(
            (c.get("location") or {}).get("gemeente") for c in view.cards if c.get("location")
        )
        gemeenten.pop(None, None)
        if not gemeenten:
            continue
        gemeente, count = gemeenten.most_common(1)[0]
        narrow = view_of(ctx, consumer, {"gemeente": str(gemeente)})
        problems += narrow.problems
        wrong = [
            c.get("id")
            for c in narrow.cards
            if (c.get("location") or {}).get("gemeente") != gemeente
        ]
        if wrong:
            problems.append(
                f"{consumer}: gemeente={gemeente} selects {len(wrong)} card(s) that do not show "
                f"that gemeente, e.g. {wrong[0]}"
            )
        if len(narrow.cards) - len(wrong) != count:
            problems.append(
                f"{consumer}: {count} cards show {gemeente}, but the filter returns "
                f"{len(narrow.cards) - len(wrong)} of them"
            )
    return Outcome.of(problems)


# ---------------------------------------------------------------------- withdrawal scenario


def _scenario_pseudonyms(ctx: RunContext, print_: str) -> tuple[list[str], list[str]]:
    view = view_of(ctx, "consumer-a")
    return [str(c.get("id")) for c in view.cards if fingerprint(c) == print_], view.problems


@CHECKS.check(
    id="CAND-009",
    title="Withdrawal and erasure take effect on the very next search and fetch",
    requirements=[
        "OW-CONSENT-004",
        "OW-CONSENT-005",
        "OW-CONSENT-006",
        "OW-KANON-008",
        "OW-PUB-005",
        "OW-PRIV-002",
        "OW-CAND-002",
    ],
    needs=[FIXTURES, _PUBLISHER, "consumer-a"],
    needs_classes=[ConformanceClass.PUBLICATION],
)
def withdrawal_at_once(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    erase_scenario(ctx)
    now = datetime.now(UTC)
    size = (node_k(ctx) or 5) + 2
    tag = secrets.token_hex(4)
    records = [scenario_record(i, tag, now.date()) for i in range(size)]
    exchange = ctx.fetch(
        "POST",
        "/publication/candidate-batches",
        client=_PUBLISHER,
        scope=WRITE_SCOPE,
        json_body={
            "items": [{"candidate": r, "consents": [scenario_consent(now)]} for r in records]
        },
    )
    body, problems = expect_json(exchange, 201, "CandidateBatchResult")
    items = body.get("items") if isinstance(body, dict) else None
    if problems or not isinstance(items, list) or len(items) != size:
        erase_scenario(ctx)
        return Outcome.fail(
            *(problems or [f"{exchange.describe()}: {size} records without BSN not all accepted"])
        )
    try:
        return Outcome.of(_run_scenario(ctx, items, fingerprint(records[0])))
    finally:
        erase_scenario(ctx)


def _run_scenario(ctx: RunContext, items: list[dict[str, Any]], print_: str) -> list[str]:
    size = len(items)
    before, problems = _scenario_pseudonyms(ctx, print_)
    if len(before) != size:
        return [*problems, f"consumer-a is served {len(before)} of the {size} scenario candidates"]
    first = items[0]
    consent_path = (
        f"/publication/candidates/{first['candidateId']}/consents/{first['consentIds'][0]}"
    )
    withdrawal = ctx.fetch(
        "POST", f"{consent_path}/withdrawal", client=_PUBLISHER, scope=WRITE_SCOPE
    )
    body, found = expect_json(withdrawal, 200, "Consent")
    problems += found
    if isinstance(body, dict) and (body.get("status") != "withdrawn" or "withdrawnAt" not in body):
        problems.append(f"{withdrawal.describe()}: status {body.get('status')}, no withdrawnAt")
    # The very next requests: a fetch of every pseudonym, then a search.
    fetched = {
        p: ctx.fetch("GET", f"/candidates/{p}", client="consumer-a", scope=READ_SCOPE)
        for p in before
    }
    gone = [p for p, e in fetched.items() if e.status == 404]
    if len(gone) != 1:
        problems.append(
            f"right after one withdrawal {len(gone)} of {size} scenario cards are 404 (expected 1)"
        )
    after, found = _scenario_pseudonyms(ctx, print_)
    problems += found
    if len(after) != size - 1 or (gone and gone[0] in after):
        problems.append(
            f"the search right after the withdrawal shows {len(after)} of the {size} scenario "
            f"cards (expected {size - 1}, without the withdrawn one)"
        )
    unknown = ctx.fetch("GET", f"/candidates/{'A' * 22}", client="consumer-a", scope=READ_SCOPE)
    if gone and _problem_shape(fetched[gone[0]]) != _problem_shape(unknown):
        problems.append("a withdrawn profile's 404 differs from an unknown pseudonym's 404")
    again = ctx.fetch(
        "POST",
        f"{consent_path}/reconfirmation",
        client=_PUBLISHER,
        scope=WRITE_SCOPE,
        json_body={"validUntil": (date.today() + timedelta(days=30)).isoformat()},
    )
    if again.status != 409:
        problems.append(f"re-confirming a withdrawn consent: {again.describe()}, expected 409")
    state = ctx.fetch("GET", consent_path, client=_PUBLISHER, scope=WRITE_SCOPE).json()
    if isinstance(state, dict) and state.get("status") != "withdrawn":
        problems.append(f"the withdrawn consent reads {state.get('status')!r} afterwards")
    # Erasure: the record is 404 and one more card is gone at once.
    second = str(items[1]["candidateId"])
    erased = ctx.fetch(
        "DELETE", f"/publication/candidates/{second}", client=_PUBLISHER, scope=WRITE_SCOPE
    )
    if erased.status != 204:
        problems.append(f"{erased.describe()}, expected 204")
    record = ctx.fetch(
        "GET", f"/publication/candidates/{second}", client=_PUBLISHER, scope=WRITE_SCOPE
    )
    if record.status != 404:
        problems.append(f"the erased record: {record.describe()}, expected 404")
    remaining, found = _scenario_pseudonyms(ctx, print_)
    problems += found
    if len(remaining) != size - 2:
        problems.append(
            f"the search right after the erasure shows {len(remaining)} scenario cards "
            f"(expected {size - 2})"
        )
    return problems


@CHECKS.check(
    id="CAND-010",
    title="Expired consents read expired and their cards are gone",
    requirements=["OW-CONSENT-005", "OW-CONSENT-006"],
    needs=_BOTH,
)
def expiry(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    if not ctx.preloaded:
        return Outcome.skip(
            "expiry cannot be forced through the API (validUntil may not be in the past and the "
            "node's clock is its own); run with --preloaded against data with real past dates"
        )
    from openwerk_conformance.candidate_fixtures import candidate_items

    _, lifecycle = candidate_items(ctx.fixtures_dir)
    today = datetime.now(UTC).date()
    problems: list[str] = []
    checked = 0
    for key, index in lifecycle.expiring:
        fixture = ctx.candidates.get(key)
        if fixture is None or index >= len(fixture.consent_ids):
            continue
        consent = ctx.fetch(
            "GET",
            f"/publication/candidates/{fixture.node_id}/consents/{fixture.consent_ids[index]}",
            client=_PUBLISHER,
            scope=WRITE_SCOPE,
        ).json()
        until = consent.get("validUntil") if isinstance(consent, dict) else None
        if not isinstance(until, str) or date.fromisoformat(until) >= today:
            continue
        checked += 1
        if consent.get("status") != "expired":
            problems.append(f"{key}: consent valid until {until} reads {consent.get('status')!r}")
        for consumer, view in _views(ctx).items():
            if key in view.by_key and key not in _after_expiry(ctx, consumer):
                problems.append(f"{consumer} is still served {key}, whose consent expired {until}")
    if not checked:
        return Outcome.skip("none of the expiring fixture consents has expired yet")
    return Outcome.of(problems)


def _after_expiry(ctx: RunContext, consumer: str) -> set[str]:
    consumers = expected(ctx).get("consumers", {})
    entry = consumers.get(consumer, {}).get("afterExpiry", {})
    return set(entry.get("kAnonymity", {}).get("cards", {}))


@CHECKS.check(
    id="CAND-011",
    title="Every card served writes a log record with the caller's trace id, newest first",
    requirements=["OW-LOG-001", "OW-LOG-003", "OW-LOG-004"],
    needs=_BOTH,
    needs_classes=[ConformanceClass.PUBLICATION],
)
def access_log(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    view = view_of(ctx, "consumer-a")
    key = next((k for k in sorted(view.by_key)), None)
    if key is None:
        return Outcome.skip("consumer-a is served no fixture card")
    trace = secrets.token_hex(16)
    ctx.fetch(
        "GET",
        f"/candidates/{view.pseudonym(key)}",
        client="consumer-a",
        scope=READ_SCOPE,
        headers={"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"},
    )
    log = walk_as(
        ctx,
        f"/publication/candidates/{ctx.candidates[key].node_id}/access-log",
        _PUBLISHER,
        WRITE_SCOPE,
        {"limit": 100},
        page_schema="AccessLogPage",
    )
    problems = list(log.problems)
    if not log.items:
        return Outcome.fail(*problems, f"no access-log record for {key} after serving its card")
    newest = log.items[0]
    member = ctx.credential("consumer-a").client_id
    if newest.get("traceId") != trace:
        problems.append(
            f"the newest log record of {key} has traceId {newest.get('traceId')}, not the "
            f"traceparent's {trace}"
        )
    if newest.get("consumer") != member or newest.get("operation") != "getCandidate":
        problems.append(
            f"the newest log record of {key} is {newest.get('operation')} by "
            f"{newest.get('consumer')}, expected getCandidate by {member}"
        )
    if not any(e.get("operation") == "searchCandidates" for e in log.items):
        problems.append(f"no log record of the search that served {key}'s card")
    times = [str(e.get("time")) for e in log.items]
    if times != sorted(times, reverse=True):
        problems.append("the access log is not newest first")
    return Outcome.of(problems)


@CHECKS.check(
    id="CAND-013",
    title="A cursor issued to one consumer does not page through another consumer's view",
    requirements=["OW-PSEUDO-005"],
    needs=_BOTH,
)
def foreign_cursor(ctx: RunContext) -> Outcome:
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    first = ctx.fetch(
        "GET", "/candidates", client="consumer-a", scope=READ_SCOPE, params={"limit": 2}
    )
    body, problems = expect_json(first, 200, "CandidatePage")
    links = body.get("links") if isinstance(body, dict) else None
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    if not isinstance(href, str):
        return Outcome.skip("consumer-a's first page of two cards has no next link")
    own = {str(c.get("id")) for c in view_of(ctx, "consumer-a").cards}
    foreign = ctx.fetch("GET", ctx.resolve(href), client="consumer-b", scope=READ_SCOPE)
    page = foreign.json()
    items = page.get("items") if isinstance(page, dict) and foreign.status == 200 else []
    leaked = [str(c.get("id")) for c in items or [] if str(c.get("id")) in own]
    if leaked:
        problems.append(
            f"consumer-b, following consumer-a's cursor, is served consumer-a's cards: {leaked[:3]}"
        )
    if foreign.status >= 500:
        problems.append(f"{foreign.describe()}: a foreign cursor must be 400, not a crash")
    return Outcome.of(problems)


@CHECKS.check(
    id="CAND-014",
    title="A candidate batch with one invalid item is 400 naming its index; nothing is stored",
    requirements=["OW-PUB-004"],
    needs=[_PUBLISHER],
    needs_classes=[ConformanceClass.PUBLICATION],
)
def batch_all_or_nothing(ctx: RunContext) -> Outcome:
    tag = secrets.token_hex(4)
    now = datetime.now(UTC)
    good = probe_record(tag)
    bad = {**probe_record(tag), "externalReference": f"{SCENARIO_PREFIX}{tag}-1"}
    bad["gemeente"] = "nowhere"
    exchange = ctx.fetch(
        "POST",
        "/publication/candidate-batches",
        client=_PUBLISHER,
        scope=WRITE_SCOPE,
        json_body={
            "items": [
                {"candidate": good, "consents": [scenario_consent(now)]},
                {"candidate": bad, "consents": [scenario_consent(now)]},
            ]
        },
    )
    problems = expect_problem(exchange, 400, code=ProblemCode.INVALID_PARAMETERS)
    text = exchange.response.content.decode("utf-8", "replace")
    if exchange.status == 400 and "items[1]" not in text:
        problems.append(f"{exchange.describe()}: the problem does not name items[1]")
    listing = walk_as(ctx, "/publication/candidates", _PUBLISHER, WRITE_SCOPE, {"limit": 100})
    stored = [
        r for r in listing.items if str(r.get("externalReference", "")).startswith(SCENARIO_PREFIX)
    ]
    if stored:
        problems.append(f"the refused batch stored {len(stored)} record(s)")
        erase_scenario(ctx)
    return Outcome.of(problems + listing.problems)


@CHECKS.check(
    id="CAND-015",
    title="Consents last at most 12 months; re-confirmation moves validUntil and lastConfirmedAt",
    requirements=["OW-CONSENT-003", "OW-CONSENT-004"],
    needs=[_PUBLISHER],
    needs_classes=[ConformanceClass.PUBLICATION],
)
def consent_lifetime(ctx: RunContext) -> Outcome:
    now = datetime.now(UTC)
    created = ctx.fetch(
        "POST",
        "/publication/candidates",
        client=_PUBLISHER,
        scope=WRITE_SCOPE,
        json_body=probe_record(secrets.token_hex(4)),
    )
    record, problems = expect_json(created, 201, "CandidateRecord")
    if not isinstance(record, dict) or "id" not in record:
        return Outcome.fail(*problems, f"{created.describe()}: a valid record was refused")
    path = f"/publication/candidates/{record['id']}/consents"
    try:
        too_long = {**scenario_consent(now), "validUntil": (now + timedelta(days=400)).date()}
        too_long["validUntil"] = str(too_long["validUntil"])
        refused = ctx.fetch("POST", path, client=_PUBLISHER, scope=WRITE_SCOPE, json_body=too_long)
        problems += expect_problem(refused, 400, code=ProblemCode.INVALID_PARAMETERS)
        given = ctx.fetch(
            "POST", path, client=_PUBLISHER, scope=WRITE_SCOPE, json_body=scenario_consent(now)
        )
        consent, found = expect_json(given, 201, "Consent")
        problems += found
        if not isinstance(consent, dict) or "id" not in consent:
            return Outcome.of(problems)
        target = f"{path}/{consent['id']}/reconfirmation"
        later = ctx.fetch(
            "POST",
            target,
            client=_PUBLISHER,
            scope=WRITE_SCOPE,
            json_body={"validUntil": str((now + timedelta(days=400)).date())},
        )
        problems += expect_problem(later, 400, code=ProblemCode.INVALID_PARAMETERS)
        until = str((now + timedelta(days=200)).date())
        confirmed = ctx.fetch(
            "POST", target, client=_PUBLISHER, scope=WRITE_SCOPE, json_body={"validUntil": until}
        )
        body, found = expect_json(confirmed, 200, "Consent")
        problems += found
        if isinstance(body, dict):
            if body.get("validUntil") != until:
                problems.append(f"re-confirmed validUntil is {body.get('validUntil')}, not {until}")
            stamp = str(body.get("lastConfirmedAt", ""))
            if stamp <= str(consent.get("lastConfirmedAt", "")):
                problems.append(
                    f"lastConfirmedAt {stamp} did not move to the re-confirmation "
                    f"(was {consent.get('lastConfirmedAt')})"
                )
        return Outcome.of(problems)
    finally:
        ctx.fetch(
            "DELETE",
            f"/publication/candidates/{record['id']}",
            client=_PUBLISHER,
            scope=WRITE_SCOPE,
        )


# ---------------------------------------------------------------------- the PII hunt


@CHECKS.check(
    id="CAND-012",
    title="No personal identifier or internal id in any L0, L1 or L2 response of the run",
    requirements=["OW-TIER-003", "OW-PSEUDO-005"],
    needs=[FIXTURES],
    late=True,
)
def pii_hunt(ctx: RunContext) -> Outcome:
    """Sweep every response outside the publication API, L3 and the token endpoint.

    Bodies, headers and the decoded cursors of their links are searched for each needle.
    """
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    wanted = needles(ctx)
    swept = 0
    problems: list[str] = []
    leaks: list[Exchange] = []
    for exchange in list(ctx.history):
        path = relative_path(ctx, exchange)
        if path.startswith(("/publication", "/oauth", "/introductions")):
            continue
        swept += 1
        text = exchange.response.content.decode("utf-8", "replace")
        text += "\n" + "\n".join(f"{k}: {v}" for k, v in exchange.response.headers.items())
        text += "\n" + decoded_cursors(text)
        for what, value in wanted:
            if value in text:
                problems.append(f"{exchange.describe()} contains {what} ({value!r})")
                leaks.append(exchange)
                break
        if len(problems) >= 10:
            break
    if leaks:
        # The sweep itself sends nothing; repeat the first leaking request so the report
        # carries the exchange that proves the point.
        ctx.send(leaks[0].request)
    return Outcome.of(problems, note=f"{swept} responses swept for {len(wanted)} needles")


def _any_member_keys(ctx: RunContext) -> set[str]:
    """Fixture keys with a matching consent to any member that the dataset does not withdraw."""
    items, lifecycle = candidate_items(ctx.fixtures_dir)
    withdrawn = set(lifecycle.withdrawals)
    keys: set[str] = set()
    for item in items:
        for index, consent in enumerate(item.consents):
            recipients = consent.get("recipients")
            scope = recipients.get("scope") if isinstance(recipients, dict) else None
            if (
                scope == "any-member"
                and "matching" in (consent.get("purposes") or [])
                and (item.key, index) not in withdrawn
            ):
                keys.add(item.key)
    return keys


@CHECKS.check(
    id="CAND-016",
    title="A gateway is served only candidates whose consent admits any member",
    requirements=["OW-FED-014"],
    needs=[FIXTURES, "gateway"],
)
def gateway_any_member_only(ctx: RunContext) -> Outcome:
    """Read as the run's gateway identity (a gemeente): narrower scopes must never admit it.

    The dataset has consents for organisation types ``[platform, gemeente]`` and for named
    members; a node that evaluated them for a gateway as for any other member would serve
    those cards to a gateway of a gemeente.
    """
    if (skip := _no_candidates(ctx)) is not None:
        return skip
    view = view_of(ctx, "gateway")
    admitted = _any_member_keys(ctx)
    problems = list(view.problems)
    for key in sorted(set(view.by_key) - admitted):
        problems.append(
            f"the gateway is served a card for {key}, whose consent does not admit any member"
        )
    if not view.cards and not problems:
        return Outcome.ok(note="the node serves the gateway no cards at all")
    return Outcome.of(problems, note=f"{len(view.by_key)} fixture cards served to the gateway")
