"""Introductions class: the state machine, who sees what, and when the identity is revealed.

Every check runs on a scenario cohort (``scenario.py``): consumer-a asks to be introduced to
members, the publisher records their answers, and consumer-b looks on. The identity a node
reveals must be the member's own name (the cohort knows it) and reach only the requester of
an accepted introduction (OW-INTRO-006); a decline must tell the requester nothing but the
status and its time (OW-INTRO-005).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from openwerk_conformance.context import Exchange, RunContext
from openwerk_conformance.privacy_reads import walk_as
from openwerk_conformance.probes import close_vacancy, publish_probe
from openwerk_conformance.registry import CheckFunction, CheckSet, Outcome
from openwerk_conformance.scenario import PUBLISHER, Cohort, CohortError, cohort
from openwerk_conformance.schema import expect_json, expect_problem
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.problems import ProblemCode

CHECKS = CheckSet(ConformanceClass.INTRODUCTIONS)

REQUESTER: Final = "consumer-a"
OTHER: Final = "consumer-b"
INTRO_SCOPE: Final = "introductions:write"
WRITE_SCOPE: Final = "publication:write"
#: The members an Introduction may have (IntroductionFields + identity); a decline adds none.
INTRODUCTION_MEMBERS: Final = frozenset(
    {
        "id",
        "status",
        "requester",
        "opportunity",
        "candidate",
        "message",
        "createdAt",
        "expiresAt",
        "decidedAt",
        "closedAt",
        "identity",
    }
)
CONSENT_CAPTURE: Final = {"collectionMethod": "with-jobcoach", "noticeVersion": "2025.3"}
CONTACT: Final = {"channel": "via-custodian", "value": "jobcoach Zeist, 030 000 0000"}
_CONFLICT: Final = (ProblemCode.CONFLICT, ProblemCode.ILLEGAL_TRANSITION)


@dataclass(frozen=True, slots=True)
class Scene:
    """A published cohort, consumer-a's pseudonyms of its members, and a probe vacancy."""

    group: Cohort
    pseudonyms: dict[int, str]
    vacancy: str


def request_body(pseudonym: str, vacancy: str) -> dict[str, Any]:
    """An introduction request for ``pseudonym`` about the probe vacancy."""
    return {
        "opportunity": {"type": "vacancy", "id": vacancy},
        "candidate": pseudonym,
        "requesterRole": "employer",
        "contactPerson": {"name": "Conformance Suite", "email": "suite@example.org"},
        "message": "A conformance check asks for an introduction; it is withdrawn afterwards.",
    }


def ask(ctx: RunContext, scene: Scene, pseudonym: str, client: str = REQUESTER) -> Exchange:
    """createIntroduction as ``client``."""
    return ctx.fetch(
        "POST",
        "/introductions",
        client=client,
        scope=INTRO_SCOPE,
        json_body=request_body(pseudonym, scene.vacancy),
    )


def read(ctx: RunContext, intro_id: str, client: str = REQUESTER) -> Exchange:
    """getIntroduction as ``client``."""
    return ctx.fetch("GET", f"/introductions/{intro_id}", client=client, scope=INTRO_SCOPE)


def listed(ctx: RunContext, client: str = REQUESTER) -> list[dict[str, Any]]:
    """Every introduction listIntroductions gives ``client``."""
    return walk_as(ctx, "/introductions", client, INTRO_SCOPE, {"limit": 100}).items


def decide(ctx: RunContext, intro_id: str, decision: dict[str, Any]) -> Exchange:
    """recordIntroductionDecision as the publisher."""
    return ctx.fetch(
        "POST",
        f"/publication/introductions/{intro_id}/decision",
        client=PUBLISHER,
        scope=WRITE_SCOPE,
        json_body=decision,
    )


def accept(ctx: RunContext, intro_id: str) -> Exchange:
    """Record an acceptance with the via-custodian channel."""
    return decide(
        ctx, intro_id, {"decision": "accepted", "contact": CONTACT, "consent": CONSENT_CAPTURE}
    )


def decline(ctx: RunContext, intro_id: str) -> Exchange:
    """Record a decline (no reason: the schema has no place for one)."""
    return decide(ctx, intro_id, {"decision": "declined", "consent": CONSENT_CAPTURE})


def cancel(ctx: RunContext, intro_id: str, client: str = REQUESTER) -> Exchange:
    """cancelIntroduction as ``client``."""
    return ctx.fetch(
        "POST", f"/introductions/{intro_id}/cancellation", client=client, scope=INTRO_SCOPE
    )


def access_log(ctx: RunContext, candidate_id: str) -> list[dict[str, Any]]:
    """The candidate's processing-log records as the publisher reads them."""
    path = f"/publication/candidates/{candidate_id}/access-log"
    return walk_as(ctx, path, PUBLISHER, WRITE_SCOPE, {"limit": 100}).items


def _with_cohort(purpose: str, body: Callable[[RunContext, Scene], Outcome]) -> CheckFunction:
    """Run ``body`` on a scene: a cohort, its pseudonyms for consumer-a, a probe vacancy."""

    def run(ctx: RunContext) -> Outcome:
        _, posted = publish_probe(ctx, f"intro-{purpose}")
        vacancy = posted.json()
        if posted.status != 201 or not isinstance(vacancy, dict) or "id" not in vacancy:
            return Outcome.fail(f"{posted.describe()}: could not publish a probe vacancy")
        try:
            with cohort(ctx, purpose) as group:
                pseudonyms = group.pseudonyms(ctx, REQUESTER)
                if len(pseudonyms) != len(group.members):
                    return Outcome.fail(
                        f"consumer-a sees {len(pseudonyms)} of the {len(group.members)} "
                        "published scenario cards; introductions cannot be checked"
                    )
                return body(ctx, Scene(group, pseudonyms, str(vacancy["id"])))
        except CohortError as exc:
            return Outcome.fail(f"could not publish the scenario cohort: {exc}")
        finally:
            close_vacancy(ctx, str(vacancy["id"]))

    return run


def _created(exchange: Exchange) -> tuple[dict[str, Any] | None, list[str]]:
    intro, problems = expect_json(exchange, 201, "Introduction")
    if not isinstance(intro, dict) or not isinstance(intro.get("id"), str):
        return None, problems or [f"{exchange.describe()}: no introduction created"]
    return intro, problems


def identity_problems(intro: Any, where: str, group: Cohort | None, index: int) -> list[str]:
    """``identity`` only in an accepted introduction, holding only the member's name and channel."""
    if not isinstance(intro, dict):
        return [f"{where}: no introduction object"]
    identity = intro.get("identity")
    if intro.get("status") != "accepted" or group is None:
        if identity is not None:
            return [f"{where}: identity shown in a {intro.get('status')} introduction"]
        return []
    if not isinstance(identity, dict):
        return [f"{where}: the accepted introduction shows its requester no identity"]
    member = group.member(index)
    expected = {
        "givenName": member.record["person"]["givenName"],
        "familyName": member.family_name,
        "contact": CONTACT,
    }
    if identity != expected:
        return [f"{where}: identity is {identity!r}, not the member's name and chosen channel"]
    return []


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _unseen(ctx: RunContext, intro_id: str) -> list[str]:
    """consumer-b must neither read, cancel nor list consumer-a's introduction (OW-INTRO-007)."""
    problems = expect_problem(read(ctx, intro_id, OTHER), 404, code=ProblemCode.NOT_FOUND)
    if intro_id in {i.get("id") for i in listed(ctx, OTHER)}:
        problems.append("consumer-b's listIntroductions holds consumer-a's introduction")
    return problems


def _create(ctx: RunContext, scene: Scene) -> Outcome:
    group, pseudonyms = scene.group, scene.pseudonyms
    intro, problems = _created(ask(ctx, scene, pseudonyms[0]))
    if intro is None:
        return Outcome.fail(*problems)
    client_id = ctx.credential(REQUESTER).client_id
    if intro.get("status") != "pending":
        problems.append(f"a new introduction has status {intro.get('status')!r}, not pending")
    requester = intro.get("requester")
    if not isinstance(requester, dict) or requester.get("member") != client_id:
        problems.append(f"requester is {requester!r}; the caller is {client_id!r}")
    created_at, expires_at = _instant(intro.get("createdAt")), _instant(intro.get("expiresAt"))
    if created_at is None or expires_at is None or expires_at <= created_at:
        problems.append("expiresAt is missing or not later than createdAt")
    problems += identity_problems(intro, "the created introduction", group, 0)
    unknown = "A" * 11 + secrets.token_hex(6)[:11]
    problems += expect_problem(ask(ctx, scene, unknown), 404, code=ProblemCode.NOT_FOUND)
    others = group.pseudonyms(ctx, OTHER) if ctx.has_credentials(OTHER) else {}
    if 1 in others and others[1] != pseudonyms[1]:
        # consumer-b's pseudonym names no profile published *to consumer-a*.
        problems += expect_problem(ask(ctx, scene, others[1]), 404, code=ProblemCode.NOT_FOUND)
    steps = {e.get("operation") for e in access_log(ctx, group.member(0).candidate_id)}
    if "createIntroduction" not in steps:
        problems.append("the candidate's processing log has no createIntroduction record")
    cancel(ctx, intro["id"])
    return Outcome.of(problems)


CHECKS.check(
    id="INTRO-001",
    title="A request is pending, names the caller, expires, and needs a pseudonym published to it",
    requirements=["OW-INTRO-001", "OW-INTRO-008", "OW-LOG-002"],
    needs=[PUBLISHER, REQUESTER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)(_with_cohort("intro", _create))


def _accepted(ctx: RunContext, scene: Scene) -> Outcome:
    group, pseudonyms = scene.group, scene.pseudonyms
    intro, problems = _created(ask(ctx, scene, pseudonyms[0]))
    if intro is None:
        return Outcome.fail(*problems)
    ident = intro["id"]
    problems += identity_problems(read(ctx, ident).json(), "pending, getIntroduction", group, 0)
    own = [item for item in listed(ctx) if item.get("id") == ident]
    if not own:
        problems.append("consumer-a's listIntroductions does not hold its own introduction")
    for item in own:
        problems += identity_problems(item, "pending, listIntroductions", group, 0)
    decided = accept(ctx, ident)
    problems += list(expect_json(decided, 200)[1])
    got = read(ctx, ident)
    body, found = expect_json(got, 200, "Introduction")
    problems += found
    if isinstance(body, dict) and body.get("status") != "accepted":
        problems.append(f"after acceptance the status is {body.get('status')!r}")
    problems += identity_problems(body, "accepted, getIntroduction", group, 0)
    in_list = [i for i in listed(ctx) if i.get("id") == ident]
    if in_list:
        problems += identity_problems(in_list[0], "accepted, listIntroductions", group, 0)
    if ctx.has_credentials(OTHER):
        problems += _unseen(ctx, ident)
    problems += expect_problem(decline(ctx, ident), 409, code=_CONFLICT)
    problems += expect_problem(cancel(ctx, ident), 409, code=_CONFLICT)
    steps = {e.get("operation") for e in access_log(ctx, group.member(0).candidate_id)}
    for step in ("recordIntroductionDecision", "getIntroduction"):
        if step not in steps:
            problems.append(f"the candidate's processing log has no {step} record")
    return Outcome.of(problems)


CHECKS.check(
    id="INTRO-002",
    title="The identity is revealed only after acceptance, only to the requester",
    requirements=["OW-INTRO-006", "OW-INTRO-002", "OW-INTRO-004", "OW-INTRO-007", "OW-LOG-002"],
    needs=[PUBLISHER, REQUESTER, OTHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)(_with_cohort("reveal", _accepted))


def _declined(ctx: RunContext, scene: Scene) -> Outcome:
    group, pseudonyms = scene.group, scene.pseudonyms
    intro, problems = _created(ask(ctx, scene, pseudonyms[1]))
    if intro is None:
        return Outcome.fail(*problems)
    ident = intro["id"]
    with_reason = {"decision": "declined", "consent": CONSENT_CAPTURE, "reason": "no interest"}
    problems += expect_problem(
        decide(ctx, ident, with_reason), 400, code=ProblemCode.INVALID_PARAMETERS
    )
    problems += expect_json(decline(ctx, ident), 200)[1]
    body, found = expect_json(read(ctx, ident), 200, "Introduction")
    problems += found
    if isinstance(body, dict):
        if body.get("status") != "declined":
            problems.append(f"after the decline the status is {body.get('status')!r}")
        if not body.get("decidedAt"):
            problems.append("a declined introduction has no decidedAt")
        extra = sorted(set(body) - INTRODUCTION_MEMBERS)
        if extra:
            problems.append(f"the declined introduction carries {extra}")
        changed = sorted(k for k in set(body) | set(intro) if body.get(k) != intro.get(k))
        unexpected = [k for k in changed if k not in ("status", "decidedAt", "closedAt")]
        if unexpected:
            problems.append(f"the decline changed {unexpected} as the requester sees it")
        problems += identity_problems(body, "declined, getIntroduction", group, 1)
    problems += expect_problem(accept(ctx, ident), 409, code=_CONFLICT)
    return Outcome.of(problems)


CHECKS.check(
    id="INTRO-003",
    title="A decline carries no reason: the requester sees only the status and its time",
    requirements=["OW-INTRO-005", "OW-INTRO-004", "OW-INTRO-006"],
    needs=[PUBLISHER, REQUESTER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)(_with_cohort("decline", _declined))


def _cancelled(ctx: RunContext, scene: Scene) -> Outcome:
    group, pseudonyms = scene.group, scene.pseudonyms
    intro, problems = _created(ask(ctx, scene, pseudonyms[2]))
    if intro is None:
        return Outcome.fail(*problems)
    ident = intro["id"]
    if ctx.has_credentials(OTHER):
        problems += expect_problem(cancel(ctx, ident, OTHER), 404, code=ProblemCode.NOT_FOUND)
        problems += _unseen(ctx, ident)
    done, found = expect_json(cancel(ctx, ident), 200, "Introduction")
    problems += found
    if isinstance(done, dict) and done.get("status") != "cancelled":
        problems.append(f"after cancellation the status is {done.get('status')!r}")
    problems += expect_problem(cancel(ctx, ident), 409, code=_CONFLICT)
    problems += expect_problem(accept(ctx, ident), 409, code=_CONFLICT)
    steps = {e.get("operation") for e in access_log(ctx, group.member(2).candidate_id)}
    if "cancelIntroduction" not in steps:
        problems.append("the candidate's processing log has no cancelIntroduction record")
    return Outcome.of(problems)


CHECKS.check(
    id="INTRO-004",
    title="Only the requester cancels; a closed introduction accepts no further transition",
    requirements=["OW-INTRO-004", "OW-INTRO-007", "OW-LOG-002"],
    needs=[PUBLISHER, REQUESTER, OTHER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)(_with_cohort("cancel", _cancelled))


def _unpublished(ctx: RunContext, scene: Scene) -> Outcome:
    group, pseudonyms = scene.group, scene.pseudonyms
    problems: list[str] = []
    withdrawn, found = _created(ask(ctx, scene, pseudonyms[3]))
    erased, more = _created(ask(ctx, scene, pseudonyms[4]))
    problems += found + more
    if withdrawn is None or erased is None:
        return Outcome.fail(*problems)
    member = group.member(3)
    path = f"/publication/candidates/{member.candidate_id}/consents/{member.consent_id}/withdrawal"
    problems += expect_json(
        ctx.fetch("POST", path, client=PUBLISHER, scope=WRITE_SCOPE), (200, 201, 202)
    )[1]
    status = ctx.fetch(
        "DELETE",
        f"/publication/candidates/{group.member(4).candidate_id}",
        client=PUBLISHER,
        scope=WRITE_SCOPE,
    ).status
    if status not in (200, 202, 204):
        problems.append(f"erasing a scenario candidate answered {status}")
    for what, intro in (("withdrawal", withdrawn), ("erasure", erased)):
        body = read(ctx, intro["id"]).json()
        got = body.get("status") if isinstance(body, dict) else None
        if got != "cancelled":
            problems.append(f"after the {what}, the pending introduction is {got!r}, not cancelled")
    return Outcome.of(problems)


CHECKS.check(
    id="INTRO-005",
    title="Withdrawal or erasure cancels the requester's pending introductions",
    requirements=["OW-CONSENT-009", "OW-INTRO-004"],
    needs=[PUBLISHER, REQUESTER],
    needs_classes=[ConformanceClass.OPPORTUNITIES],
)(_with_cohort("unpublish", _unpublished))


def _outcomes(ctx: RunContext, scene: Scene) -> Outcome:
    pseudonyms = scene.pseudonyms
    intro, problems = _created(ask(ctx, scene, pseudonyms[0]))
    if intro is None:
        return Outcome.fail(*problems)
    path = f"/publication/introductions/{intro['id']}/outcomes"
    outcome = {"outcome": "no-placement", "checkpoint": "start"}

    def record() -> Exchange:
        return ctx.fetch("POST", path, client=PUBLISHER, scope=WRITE_SCOPE, json_body=outcome)

    problems += expect_problem(record(), 409, code=_CONFLICT)
    problems += expect_json(accept(ctx, intro["id"]), 200)[1]
    problems += expect_json(record(), 201, "PlacementOutcome")[1]
    problems += expect_problem(record(), 409, code=_CONFLICT)
    return Outcome.of(problems)


CHECKS.check(
    id="INTRO-006",
    title="A placement outcome only for an accepted introduction, once per checkpoint",
    requirements=["OW-INTRO-009"],
    needs=[PUBLISHER, REQUESTER],
    # Recorded at the publication API, but only reachable through an accepted introduction.
    needs_classes=[ConformanceClass.OPPORTUNITIES, ConformanceClass.INTRODUCTIONS],
    cls=ConformanceClass.PUBLICATION,
)(_with_cohort("outcome", _outcomes))
