"""A tiny fake Open Werk node, correct by default, that can break exactly one rule on request.

It implements just enough of core, opportunities and publication (and the token endpoint)
for the conformance checks to have something to judge: the suite must PASS it as built, and
FAIL it — naming the broken requirement — when one ``Break`` is switched on. It shares
nothing with the reference server (which the suite must never import); only the spec
package, for schemas and code lists, exactly as the suite does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.exceptions import HTTPException as StarletteHTTPException

from openwerk_conformance.oauth import ClientCredentials, generate_key
from openwerk_spec.classes import ConformanceClass
from openwerk_spec.codelists import CODE_LIST_NAMES, as_json, codes, gemeente_region
from openwerk_spec.openapi import load_openapi, openapi_for_server, spec_version, validator
from openwerk_spec.problems import PROBLEM_TYPE_PREFIX, PROBLEM_TYPES, ProblemCode

BASE = "http://node.test/v1"
NODE_ID = "fake-node"
CONSUMER_SCOPES = (
    "opportunities:read",
    "statistics:read",
    "candidates:read",
    "introductions:write",
    "events:read",
)
MAX_BODY = 1024 * 1024


class Break(StrEnum):
    """The one rule a fake node breaks."""

    NO_API_VERSION_ON_404 = "no-api-version-on-404"
    UNPROCESSABLE_422 = "422-instead-of-400"
    DUPLICATES_WHILE_PAGING = "duplicates-while-paging"
    LIMIT_REFUSED = "limit-refused"
    SERVER_ERROR_ON_BAD_INPUT = "500-on-bad-input"
    ACCEPTS_ANY_ASSERTION = "accepts-any-assertion"
    IGNORES_GEMEENTE_FILTER = "ignores-gemeente-filter"
    IGNORES_ACCEPT = "ignores-accept"
    OFFSET_CURSORS = "offset-cursors"
    FIRST_ERROR_ONLY = "first-error-only"
    ACCEPTS_UNKNOWN_MEMBERS = "accepts-unknown-members"
    NO_SIZE_LIMIT = "no-size-limit"
    SCOPE_NOT_CHECKED = "scope-not-checked"
    CLOSED_STILL_LISTED = "closed-still-listed"
    NO_JSON_LD = "no-json-ld"


# ---------------------------------------------------------------------------- sample data

_GEMEENTEN = ("GM0344", "GM0307", "GM0356", "GM0363")
_OCCUPATIONS = ("9112", "9214", "9329", "5223", "9412")
_VACANCY_KINDS = ("regular", "banenafspraak", "basisbaan", "leerwerkplek")


def sample_vacancy(n: int) -> dict[str, Any]:
    """A valid VacancyInput, varied by ``n``."""
    gemeente = _GEMEENTEN[n % len(_GEMEENTEN)]
    low = 8 + (n * 4) % 28
    return {
        "externalReference": f"fixture-vacancy-{n:03d}",
        "employer": {"name": f"Werkgever {n} B.V."},
        "title": f"Medewerker {n}",
        "description": "Werk in een vast team, met begeleiding op de werkvloer.",
        "kind": _VACANCY_KINDS[n % len(_VACANCY_KINDS)],
        "occupation": {"isco08": _OCCUPATIONS[n % len(_OCCUPATIONS)]},
        "skills": [{"label": f"vaardigheid {n % 3}", "importance": "essential"}],
        "location": {"gemeente": gemeente, "arbeidsmarktregio": gemeente_region(gemeente)},
        "hoursPerWeek": {"min": low, "max": low + 8},
        "validThrough": "2099-12-31",
        "supportOffered": ["jobcoach"] if n % 2 else [],
        "instruments": ["no-riskpolis"] if n % 3 else [],
        "inclusiveRedesign": n % 2 == 0,
    }


def sample_task_offer(n: int) -> dict[str, Any]:
    """A valid TaskOfferInput, varied by ``n``."""
    base = sample_vacancy(n + 100)
    base["externalReference"] = f"fixture-task-offer-{n:03d}"
    base["kind"] = ("carved-tasks", "werkervaringsplek")[n % 2]
    base["tasks"] = [{"title": "Post sorteren"}, {"title": "Koffie zetten"}]
    base["requestedBy"] = "employer"
    base["nonDisplacement"] = {
        "additional": True,
        "attestedBy": "werkgever en ondernemingsraad",
        "attestedOn": "2025-01-15",
    }
    return base


def sample_instrument(n: int) -> dict[str, Any]:
    """A valid InstrumentInput."""
    return {
        "externalReference": f"fixture-instrument-{n:03d}",
        "type": ("no-riskpolis", "jobcoach", "loonkostensubsidie")[n % 3],
        "name": f"Regeling {n}",
        "description": "Zo werkt deze regeling in onze gemeente.",
        "conditions": ["Alleen voor inwoners"],
        "targetGroups": ["banenafspraak"],
        "appliesIn": [_GEMEENTEN[n % len(_GEMEENTEN)]],
        "validFrom": "2025-01-01",
    }


def fixture_files(vacancies: int = 7, task_offers: int = 3, instruments: int = 2) -> dict[str, Any]:
    """A small fixture dataset, file name → document, shaped like spec/v1/fixtures."""
    return {
        "expected.json": {"custodian": "fake-custodian"},
        "vacancies.json": [
            {"key": f"vac-{n:03d}", "vacancy": sample_vacancy(n)} for n in range(vacancies)
        ],
        "task-offers.json": [
            {"key": f"task-{n:03d}", "taskOffer": sample_task_offer(n)} for n in range(task_offers)
        ],
        "instruments.json": [
            {
                "publisher": "fake-custodian",
                "instruments": [
                    {"key": f"ins-{n:02d}", "instrument": sample_instrument(n)}
                    for n in range(instruments)
                ],
            },
            {
                # A second catalogue that reuses a reference, as the real dataset does.
                "publisher": "gemeente-nergens",
                "instruments": [
                    {
                        "key": "ins-other",
                        "instrument": {
                            **sample_instrument(4),
                            "externalReference": "fixture-instrument-000",
                        },
                    }
                ],
            },
        ],
    }


# ---------------------------------------------------------------------------- the fake node


class _ProblemError(Exception):
    def __init__(
        self,
        code: ProblemCode,
        detail: str,
        *,
        invalid: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code, self.detail, self.invalid = code, detail, invalid
        self.headers, self.extra = headers or {}, extra or {}


def _problem_response(problem: _ProblemError, status: int | None = None) -> JSONResponse:
    kind = PROBLEM_TYPES[problem.code]
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + problem.code.value,
        "title": kind.title,
        "status": status or kind.status,
        "detail": problem.detail,
        "code": problem.code.value,
        **problem.extra,
    }
    if problem.invalid:
        body["invalidParams"] = problem.invalid
    return JSONResponse(
        body,
        status_code=status or kind.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )


@dataclass
class FakeNode:
    """State of the fake node: items, clients, tokens, used assertion ids."""

    breaks: frozenset[Break] = frozenset()
    public: bool = True
    base: str = BASE
    clients: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"vacancy": [], "task-offer": [], "instrument": []}
    )
    tokens: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    used_jti: set[tuple[str, str]] = field(default_factory=set)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    clock: int = 0

    def register(self, client_id: str, scopes: tuple[str, ...]) -> ClientCredentials:
        """A new client known to this node; its credentials (with private key) for the suite."""
        key = generate_key()
        self.clients[client_id] = (key.as_dict(private=False), scopes)
        return ClientCredentials(role=client_id, client_id=client_id, key=key)

    def add(self, kind: str, document: dict[str, Any]) -> dict[str, Any]:
        """Store a valid input document as a published item."""
        self.clock += 1
        stamp = (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=self.clock)).isoformat()
        stamp = stamp.replace("+00:00", "Z")
        item = {
            **document,
            "id": f"{kind[:3]}-{self.clock:04d}",
            "publisher": NODE_ID,
            "status": "active" if kind == "instrument" else "open",
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        self.items[kind].append(item)
        return item


def _pages_sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()[:16]


def create_app(node: FakeNode) -> FastAPI:
    """The fake node as an ASGI app, mounted at /v1."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    broken = node.breaks
    base = node.base

    @app.middleware("http")
    async def api_version(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if not (Break.NO_API_VERSION_ON_404 in broken and response.status_code == 404):
            response.headers["API-Version"] = spec_version()
        return response

    @app.exception_handler(_ProblemError)
    async def on_problem(request: Request, exc: _ProblemError) -> Response:
        if exc.invalid and Break.FIRST_ERROR_ONLY in broken:
            exc.invalid = exc.invalid[:1]
        if exc.code is ProblemCode.INVALID_PARAMETERS and Break.UNPROCESSABLE_422 in broken:
            return _problem_response(exc, 422)
        if exc.code is ProblemCode.INVALID_PARAMETERS and Break.SERVER_ERROR_ON_BAD_INPUT in broken:
            return JSONResponse({"error": "Traceback: KeyError"}, status_code=500)
        return _problem_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: ProblemCode.NOT_FOUND, 405: ProblemCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ProblemCode.INTERNAL
        )
        return _problem_response(
            _ProblemError(code, str(exc.detail), headers=dict(exc.headers or {}))
        )

    def accept(request: Request, *offered: str) -> str:
        header = request.headers.get("accept", "")
        wanted = [part.split(";")[0].strip() for part in header.split(",") if part.strip()]
        if not wanted or Break.IGNORES_ACCEPT in broken:
            return offered[0]
        for media in wanted:
            if media in offered:
                return media
            if media in ("*/*", "application/*"):
                return offered[0]
        raise _ProblemError(ProblemCode.NOT_ACCEPTABLE, f"offered: {', '.join(offered)}")

    def principal(request: Request, scope: str) -> str:
        header = request.headers.get("authorization", "")
        realm = f'Bearer realm="{NODE_ID}"'
        if not header.startswith("Bearer "):
            raise _ProblemError(
                ProblemCode.UNAUTHORIZED,
                "send an access token",
                headers={"WWW-Authenticate": realm},
            )
        held = node.tokens.get(header.removeprefix("Bearer "))
        if held is None:
            raise _ProblemError(
                ProblemCode.INVALID_TOKEN,
                "the token is not valid here",
                headers={"WWW-Authenticate": f'{realm}, error="invalid_token"'},
            )
        if scope not in held[1] and Break.SCOPE_NOT_CHECKED not in broken:
            raise _ProblemError(
                ProblemCode.INSUFFICIENT_SCOPE,
                f"needs {scope}",
                headers={
                    "WWW-Authenticate": f'{realm}, error="insufficient_scope", scope="{scope}"'
                },
            )
        return held[0]

    # ------------------------------------------------------------------ core

    @app.get("/v1")
    async def landing(request: Request) -> Response:
        accept(request, "application/json")
        declared = [
            ConformanceClass.CORE,
            ConformanceClass.OPPORTUNITIES,
            ConformanceClass.PUBLICATION,
        ]
        return JSONResponse(
            {
                "id": NODE_ID,
                "name": "Fake node",
                "organisation": {"type": "gemeente", "name": "Gemeente Nergens"},
                "regions": {"arbeidsmarktregios": ["AM13"]},
                "mode": "node",
                "specVersion": spec_version(),
                "k": 5,
                "conformsTo": [c.uri for c in declared],
                "publicOpportunities": node.public,
                "tokenEndpoint": f"{base}/oauth/token",
                "links": [
                    {"href": f"{base}/conformance", "rel": "conformance"},
                    {"href": f"{base}/openapi.json", "rel": "service-desc"},
                    {"href": f"{base}/code-lists", "rel": "code-lists"},
                ],
            }
        )

    @app.get("/v1/conformance")
    async def conformance(request: Request) -> Response:
        accept(request, "application/json")
        declared = [
            ConformanceClass.CORE,
            ConformanceClass.OPPORTUNITIES,
            ConformanceClass.PUBLICATION,
        ]
        return JSONResponse({"conformsTo": [c.uri for c in declared]})

    @app.get("/v1/openapi.json")
    async def openapi(request: Request) -> Response:
        accept(request, "application/json")
        return JSONResponse(openapi_for_server(base))

    @app.get("/v1/code-lists")
    async def code_list_index(request: Request) -> Response:
        accept(request, "application/json")
        items = []
        for name in CODE_LIST_NAMES:
            doc = as_json(name)
            items.append(
                {
                    "name": name,
                    "version": doc["version"],
                    "title": doc["title"],
                    "links": {"self": {"href": f"{base}/code-lists/{name}"}},
                }
            )
        return JSONResponse({"items": items})

    @app.get("/v1/code-lists/{name}")
    async def code_list(request: Request, name: str) -> Response:
        accept(request, "application/json")
        if not re.fullmatch(r"[a-z0-9-]{1,64}", name):
            raise _ProblemError(
                ProblemCode.INVALID_PARAMETERS,
                "bad name",
                invalid=[{"name": "codeListName", "reason": "must match ^[a-z0-9-]{1,64}$"}],
            )
        if name not in CODE_LIST_NAMES:
            raise _ProblemError(ProblemCode.NOT_FOUND, f"no code list {name}")
        return JSONResponse(as_json(name))

    # ------------------------------------------------------------------ tokens

    @app.post("/v1/oauth/token")
    async def token(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            raise _ProblemError(ProblemCode.UNSUPPORTED_MEDIA_TYPE, "send a form")
        # Parsed by hand: request.form() would need python-multipart, not a dependency here.
        form = {
            k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()
        }

        def refuse(status: int, error: str, detail: str) -> _ProblemError:
            code = ProblemCode.UNAUTHORIZED if status == 401 else ProblemCode.TOKEN_REQUEST_INVALID
            return _ProblemError(code, detail, extra={"error": error})

        if form.get("grant_type") != "client_credentials":
            raise refuse(400, "unsupported_grant_type", "only client_credentials")
        assertion = form.get("client_assertion")
        if not isinstance(assertion, str) or not assertion:
            raise refuse(400, "invalid_request", "client_assertion is missing")
        try:
            claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
        except (ValueError, IndexError) as exc:
            raise refuse(401, "invalid_client", "not a JWT") from exc
        client_id = str(claims.get("iss"))
        if Break.ACCEPTS_ANY_ASSERTION not in broken:
            if client_id not in node.clients:
                raise refuse(401, "invalid_client", "unknown client")
            key = ECKey.import_key(node.clients[client_id][0])
            try:
                jwt.decode(assertion, key, algorithms=["ES256"])
            except (JoseError, ValueError) as exc:
                raise refuse(401, "invalid_client", "bad signature") from exc
            now = time.time()
            exp = claims.get("exp")
            if claims.get("sub") != client_id:
                raise refuse(401, "invalid_client", "sub must equal iss")
            if claims.get("aud") != f"{base}/oauth/token":
                raise refuse(401, "invalid_client", "wrong aud")
            if not isinstance(exp, int) or exp < now - 30 or exp > now + 330:
                raise refuse(401, "invalid_client", "exp out of range")
            jti = (client_id, str(claims.get("jti")))
            if jti in node.used_jti:
                raise refuse(401, "invalid_client", "replayed")
            node.used_jti.add(jti)
        allowed = node.clients.get(client_id, ({}, CONSUMER_SCOPES))[1]
        asked = str(form.get("scope") or "").split() or list(allowed)
        if not set(asked) <= set(allowed):
            raise refuse(400, "invalid_scope", "scope not allowed")
        value = secrets.token_urlsafe(24)
        node.tokens[value] = (client_id, frozenset(asked))
        return JSONResponse(
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": 900,
                "scope": " ".join(asked),
            },
            headers={"Cache-Control": "no-store"},
        )

    # ------------------------------------------------------------------ L0 lists

    def invalid(name: str, reason: str) -> dict[str, str]:
        return {"name": name, "reason": reason}

    def int_param(
        query: dict[str, str], name: str, low: int, high: int | None, bad: list[Any]
    ) -> int | None:
        if name not in query:
            return None
        try:
            value = int(query[name])
        except ValueError:
            bad.append(invalid(name, "must be an integer"))
            return None
        if value < low or (high is not None and value > high):
            bad.append(invalid(name, f"must be between {low} and {high}"))
            return None
        return value

    def expire() -> None:
        """Opportunities whose validThrough has passed are closed (OW-OPP-003)."""
        today = datetime.now(UTC).date().isoformat()
        for kind in ("vacancy", "task-offer"):
            for item in node.items[kind]:
                if item["status"] == "open" and item["validThrough"] < today:
                    item["status"] = "closed"
                    item["closedAt"] = item["updatedAt"]

    def listing(request: Request, kind: str) -> Response:
        accept(request, "application/json")
        expire()
        if not node.public:
            principal(request, "opportunities:read")
        query = dict(request.query_params)
        bad: list[dict[str, str]] = []
        limit = int_param(query, "limit", 1, None, bad) or 20
        if limit > 100:
            if Break.LIMIT_REFUSED in broken:
                bad.append(invalid("limit", "must be at most 100"))
            limit = 100
        hours_min = int_param(query, "hoursMin", 0, 60, bad)
        hours_max = int_param(query, "hoursMax", 0, 60, bad)
        if hours_min is not None and hours_max is not None and hours_min > hours_max:
            bad.append(invalid("hoursMin", "must be at most hoursMax"))
        kinds = {
            "vacancy": {
                "regular",
                "banenafspraak",
                "basisbaan",
                "beschut-werk",
                "detachering",
                "leerwerkplek",
            },
            "task-offer": codes("opportunity-kinds")
            - {
                "regular",
                "banenafspraak",
                "basisbaan",
                "beschut-werk",
                "detachering",
                "leerwerkplek",
            },
        }
        if kind != "instrument" and "kind" in query and query["kind"] not in kinds[kind]:
            bad.append(invalid("kind", "not a kind"))
        if "gemeente" in query and query["gemeente"] not in codes("gemeenten"):
            bad.append(invalid("gemeente", "not in the code list gemeenten"))
        if "arbeidsmarktregio" in query and query["arbeidsmarktregio"] not in codes(
            "arbeidsmarktregios"
        ):
            bad.append(invalid("arbeidsmarktregio", "not in the code list"))
        if "occupation" in query and not re.fullmatch(
            r"[0-9]{1,4}|http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}", query["occupation"]
        ):
            bad.append(invalid("occupation", "ISCO-08 digits or an ESCO occupation URI"))
        if "instrument" in query and query["instrument"] not in codes("instrument-types"):
            bad.append(invalid("instrument", "not an instrument type"))
        if "type" in query and query["type"] not in codes("instrument-types"):
            bad.append(invalid("type", "not an instrument type"))
        since = None
        if "updatedSince" in query:
            try:
                since = datetime.fromisoformat(query["updatedSince"].replace("Z", "+00:00"))
                if since.tzinfo is None:
                    raise ValueError("no offset")
            except ValueError:
                bad.append(invalid("updatedSince", "must be an RFC 3339 date-time"))
        statuses = ("active", "closed") if kind == "instrument" else ("open", "closed")
        status = query.get("status", statuses[0])
        if status not in statuses:
            bad.append(invalid("status", f"one of {statuses}"))
        # Keyset cursor: the (createdAt, id) of the last item served, signed, so inserts while a
        # client pages neither repeat nor skip items (OW-PAGE-005).
        after: tuple[str, str] | None = None
        offset = 0  # the broken OFFSET_CURSORS node pages by position instead
        if "cursor" in query:
            raw = query["cursor"]
            payload, _, signature = raw.rpartition(".")
            try:
                if not hmac.compare_digest(
                    _pages_sign(node.secret, payload.encode()).encode(), signature.encode()
                ):
                    raise ValueError("signature")
                first, second = json.loads(base64.urlsafe_b64decode(payload + "=="))
                if first == "#":
                    offset = int(second)
                else:
                    after = (str(first), str(second))
            except (ValueError, TypeError, UnicodeDecodeError):
                bad.append(invalid("cursor", "not a cursor this node issued"))
        if bad:
            raise _ProblemError(
                ProblemCode.INVALID_PARAMETERS, f"{len(bad)} invalid parameters", invalid=bad
            )

        def keep(item: dict[str, Any]) -> bool:
            if item["status"] != status and Break.CLOSED_STILL_LISTED not in broken:
                return False
            if "kind" in query and item.get("kind") != query["kind"]:
                return False
            if "type" in query and item.get("type") != query["type"]:
                return False
            if "gemeente" in query and Break.IGNORES_GEMEENTE_FILTER not in broken:
                if kind == "instrument":
                    if query["gemeente"] not in item["appliesIn"]:
                        return False
                elif item["location"]["gemeente"] != query["gemeente"]:
                    return False
            if (
                "arbeidsmarktregio" in query
                and item["location"]["arbeidsmarktregio"] != query["arbeidsmarktregio"]
            ):
                return False
            occupation = query.get("occupation")
            if occupation is not None:
                if occupation.startswith("http"):
                    if item["occupation"].get("escoUri") != occupation:
                        return False
                elif not item["occupation"]["isco08"].startswith(occupation):
                    return False
            if hours_max is not None and item["hoursPerWeek"]["min"] > hours_max:
                return False
            if hours_min is not None and item["hoursPerWeek"]["max"] < hours_min:
                return False
            if "instrument" in query and query["instrument"] not in item.get("instruments", []):
                return False
            updated = datetime.fromisoformat(item["updatedAt"].replace("Z", "+00:00"))
            return not (since is not None and updated < since)

        selected = sorted(
            (i for i in node.items[kind] if keep(i)),
            key=lambda i: (i["createdAt"], i["id"]),
            reverse=True,
        )
        if after is not None:
            selected = [i for i in selected if (i["createdAt"], i["id"]) < after]
        selected = selected[offset:]
        page = selected[:limit]
        links: dict[str, Any] = {"self": {"href": str(request.url)}}
        if len(selected) > limit:
            # The broken node resumes one item early, repeating the last item of each page.
            last = page[-2] if Break.DUPLICATES_WHILE_PAGING in broken and limit > 1 else page[-1]
            position = json.dumps(
                ["#", offset + limit]
                if Break.OFFSET_CURSORS in broken
                else [last["createdAt"], last["id"]]
            ).encode()
            payload = base64.urlsafe_b64encode(position).decode().rstrip("=")
            cursor = f"{payload}.{_pages_sign(node.secret, payload.encode())}"
            others = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            links["next"] = {
                "href": f"{request.url.path}?{urlencode([*others, ('cursor', cursor)])}"
            }
        return JSONResponse({"items": page, "links": links})

    ld_json = Break.NO_JSON_LD not in broken

    def fetch(request: Request, kind: str, item_id: str) -> Response:
        media = accept(
            request,
            "application/json",
            *(("application/ld+json",) if kind == "vacancy" and ld_json else ()),
        )
        if not node.public:
            principal(request, "opportunities:read")
        expire()
        for item in node.items[kind]:
            if item["id"] == item_id:
                if media == "application/ld+json":
                    return JSONResponse(_job_posting(item), media_type="application/ld+json")
                return JSONResponse(item)
        raise _ProblemError(ProblemCode.NOT_FOUND, f"no {kind} {item_id}")

    @app.get("/v1/vacancies")
    async def list_vacancies(request: Request) -> Response:
        return listing(request, "vacancy")

    @app.get("/v1/vacancies/{item_id}")
    async def get_vacancy(request: Request, item_id: str) -> Response:
        return fetch(request, "vacancy", item_id)

    @app.get("/v1/task-offers")
    async def list_task_offers(request: Request) -> Response:
        return listing(request, "task-offer")

    @app.get("/v1/task-offers/{item_id}")
    async def get_task_offer(request: Request, item_id: str) -> Response:
        return fetch(request, "task-offer", item_id)

    @app.get("/v1/instruments")
    async def list_instruments(request: Request) -> Response:
        return listing(request, "instrument")

    @app.get("/v1/instruments/{item_id}")
    async def get_instrument(request: Request, item_id: str) -> Response:
        return fetch(request, "instrument", item_id)

    # ------------------------------------------------------------------ publication

    @app.get("/v1/publication/candidates")
    async def candidate_records(request: Request) -> Response:
        principal(request, "publication:write")
        return JSONResponse({"items": [], "links": {"self": {"href": str(request.url)}}})

    async def publish(request: Request, kind: str, schema: str) -> Response:
        principal(request, "publication:write")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise _ProblemError(ProblemCode.UNSUPPORTED_MEDIA_TYPE, "send application/json")
        raw = await request.body()
        if len(raw) > MAX_BODY and Break.NO_SIZE_LIMIT not in broken:
            raise _ProblemError(ProblemCode.PAYLOAD_TOO_LARGE, "at most 1 MiB")
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _ProblemError(ProblemCode.MALFORMED_BODY, "not JSON") from exc
        bad = list(_body_errors(schema, document))
        if Break.ACCEPTS_UNKNOWN_MEMBERS in broken:
            bad = [b for b in bad if b["reason"] != "unknown field"]
        if bad:
            raise _ProblemError(
                ProblemCode.INVALID_PARAMETERS, f"{len(bad)} violations", invalid=bad
            )
        item = node.add(kind, document)
        path = {"vacancy": "vacancies", "task-offer": "task-offers", "instrument": "instruments"}
        return JSONResponse(
            item, status_code=201, headers={"Location": f"{base}/{path[kind]}/{item['id']}"}
        )

    def find(kind: str, item_id: str) -> dict[str, Any]:
        for item in node.items[kind]:
            if item["id"] == item_id:
                return item
        raise _ProblemError(ProblemCode.NOT_FOUND, f"no {kind} {item_id}")

    @app.put("/v1/publication/vacancies/{item_id}")
    async def replace_vacancy(request: Request, item_id: str) -> Response:
        principal(request, "publication:write")
        item = find("vacancy", item_id)
        if item["status"] == "closed":
            raise _ProblemError(ProblemCode.CONFLICT, "a closed vacancy cannot be updated")
        document = json.loads(await request.body())
        bad = list(_body_errors("VacancyInput", document))
        if bad:
            raise _ProblemError(
                ProblemCode.INVALID_PARAMETERS, f"{len(bad)} violations", invalid=bad
            )
        node.clock += 1
        kept = {k: item[k] for k in ("id", "publisher", "status", "createdAt")}
        stamp = (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=node.clock)).isoformat()
        item.clear()
        item.update({**document, **kept, "updatedAt": stamp.replace("+00:00", "Z")})
        return JSONResponse(item)

    @app.post("/v1/publication/vacancies/{item_id}/closure")
    async def close_vacancy(request: Request, item_id: str) -> Response:
        principal(request, "publication:write")
        item = find("vacancy", item_id)
        if item["status"] == "closed":
            raise _ProblemError(ProblemCode.CONFLICT, "already closed")
        item["status"] = "closed"
        item["closedAt"] = item["updatedAt"]
        return JSONResponse(item)

    @app.post("/v1/publication/vacancies")
    async def create_vacancy(request: Request) -> Response:
        return await publish(request, "vacancy", "VacancyInput")

    @app.post("/v1/publication/task-offers")
    async def create_task_offer(request: Request) -> Response:
        return await publish(request, "task-offer", "TaskOfferInput")

    @app.post("/v1/publication/instruments")
    async def create_instrument(request: Request) -> Response:
        return await publish(request, "instrument", "InstrumentInput")

    return app


def _body_errors(schema: str, document: Any) -> Iterator[dict[str, str]]:
    if not isinstance(document, dict):
        yield {"name": "body", "reason": "must be an object"}
        return
    for error in validator(schema).iter_errors(document):
        path = ".".join(str(p) for p in error.absolute_path)
        prefix = f"body.{path}." if path else "body."
        if error.validator == "unevaluatedProperties":
            # A failed allOf branch leaves its own members "unevaluated"; only name strangers.
            for name in re.findall(r"'([^']+)'", error.message):
                if path or name not in _known_members(schema):
                    yield {"name": prefix + name, "reason": "unknown field"}
            continue
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            yield {"name": prefix + (missing[0] if missing else ""), "reason": error.message}
            continue
        yield {"name": f"body.{path}" if path else "body", "reason": error.message}


def _known_members(schema: str) -> set[str]:
    schemas = load_openapi()["components"]["schemas"]
    known: set[str] = set()
    for part in schemas[schema].get("allOf", []):
        known |= set(schemas[part["$ref"].rsplit("/", 1)[-1]].get("properties", {}))
    return known


def _job_posting(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": item["title"],
        "description": item["description"],
        "datePosted": item["createdAt"][:10],
        "validThrough": item["validThrough"],
        "hiringOrganization": {"@type": "Organization", "name": item["employer"]["name"]},
        "jobLocation": {
            "@type": "Place",
            "address": {"addressRegion": item["location"]["gemeente"]},
        },
        "identifier": {"@type": "PropertyValue", "name": item["publisher"], "value": item["id"]},
    }


# ---------------------------------------------------------------------------- transport


class SyncASGITransport(httpx.BaseTransport):
    """Drive an ASGI app from a synchronous httpx client (httpx ships only the async one)."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return asyncio.run(call())


@dataclass
class Fake:
    """A fake node with its registered clients, ready to hand to the runner."""

    node: FakeNode
    app: FastAPI
    credentials: dict[str, ClientCredentials]

    @property
    def transport(self) -> SyncASGITransport:
        return SyncASGITransport(self.app)


def make_fake(*breaks: Break, public: bool = True, seed_items: int = 0, base: str = BASE) -> Fake:
    """A fake node breaking the given rules (none: a correct node), with three clients."""
    node = FakeNode(breaks=frozenset(breaks), public=public, base=base)
    credentials = {
        "publisher": node.register("fake-publisher", ("publication:write",)),
        "consumer-a": node.register("fake-consumer-a", CONSUMER_SCOPES),
        "consumer-b": node.register("fake-consumer-b", CONSUMER_SCOPES),
    }
    credentials = {
        role: ClientCredentials(role=role, client_id=c.client_id, key=c.key)
        for role, c in credentials.items()
    }
    for n in range(seed_items):
        node.add("vacancy", sample_vacancy(1000 + n))
    return Fake(node=node, app=create_app(node), credentials=credentials)
