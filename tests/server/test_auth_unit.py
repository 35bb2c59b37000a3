"""The token endpoint's assertion matrix, scopes and access tokens (OW-AUTH-002..008, -013).

Everything runs against the auth classes directly with a fixed clock and an in-memory replay
guard (production keeps ``jti`` values in the database, shared by all replicas).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from openwerk.assertions import CLIENT_ASSERTION_TYPE, make_client_assertion
from openwerk.directory import Directory, sign_directory, verify_directory
from openwerk.keys import generate_signing_key, jwks, public_jwk
from openwerk_server.auth.access_tokens import AccessTokenIssuer, AccessTokenVerifier
from openwerk_server.auth.assertion import AssertionVerifier
from openwerk_server.auth.scopes import allowed_scopes, grant_scopes
from openwerk_server.auth.token_endpoint import TokenEndpoint
from openwerk_server.security import (
    Authenticator,
    InvalidClient,
    InvalidToken,
    InvalidTokenRequest,
)
from openwerk_spec.openapi import validation_errors

T0 = 1_800_000_000
NODE = "node-a"
TOKEN_URL = "https://node-a.example/v1/oauth/token"
CONSUMER_SCOPES = (
    "opportunities:read",
    "statistics:read",
    "candidates:read",
    "introductions:write",
    "events:read",
)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MemoryReplayGuard:
    """Test double of the storage-backed ``security.ReplayGuard``."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.expiries: list[datetime] = []

    def claim_jti(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        if (client_id, jti) in self.seen:
            return False
        self.seen.add((client_id, jti))
        self.expiries.append(expires_at)
        return True


KEYS = {name: generate_signing_key() for name in ("operator", "node-a", "node-b", "app-c")}
KEYS |= {name: generate_signing_key() for name in ("prov-b", "gw-g", "pub-p", "pub-q", "mix-m")}


def _member(member_id: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": member_id,
        "name": member_id,
        "organisationType": "werkgever",
        "roles": roles,
        "jwks": jwks([KEYS[member_id]]),
        **extra,
    }


@pytest.fixture(scope="module")
def directory() -> Directory:
    payload = {
        "iss": "werkbedrijf-test",
        "iat": T0 - 3600,
        "exp": T0 + 86_400,
        "members": [
            _member("node-a", ["provider"], baseUrl="https://node-a.example/v1"),
            _member("node-b", ["provider"], baseUrl="https://node-b.example/v1"),
            _member("app-c", ["consumer"], organisationType="gemeente"),
            _member("prov-b", ["provider"]),
            _member("gw-g", ["gateway"]),
            _member("pub-p", ["publisher"], publishesTo=["node-a"]),
            _member("pub-q", ["publisher"], publishesTo=["node-b"]),
            _member("mix-m", ["consumer", "publisher"], publishesTo=["node-b"]),
        ],
    }
    token = sign_directory(payload, KEYS["operator"])
    return verify_directory(token, public_jwk(KEYS["operator"]), now=T0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard() -> MemoryReplayGuard:
    return MemoryReplayGuard()


@pytest.fixture
def verifier(directory: Directory, guard: MemoryReplayGuard, clock: Clock) -> AssertionVerifier:
    return AssertionVerifier(lambda: directory, TOKEN_URL, guard, clock=clock)


@pytest.fixture
def endpoint(verifier: AssertionVerifier, clock: Clock) -> TokenEndpoint:
    issuer = AccessTokenIssuer(NODE, KEYS[NODE], ttl_seconds=600, clock=clock)
    return TokenEndpoint(verifier, issuer, NODE)


@pytest.fixture
def tokens(clock: Clock) -> AccessTokenVerifier:
    return AccessTokenVerifier(NODE, public_jwk(KEYS[NODE]), clock=clock)


def _form(client: str = "app-c", scope: str | None = None, **overrides: Any) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": make_client_assertion(client, KEYS[client], TOKEN_URL, now=T0),
    }
    if scope is not None:
        form["scope"] = scope
    form.update(overrides)
    return form


def _claims(client: str = "app-c", **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": client,
        "sub": client,
        "aud": TOKEN_URL,
        "iat": T0,
        "exp": T0 + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _assertion(claims: dict[str, Any], key: ECKey | None = None, **header: Any) -> str:
    key = key or KEYS[claims.get("iss", "app-c")]
    return jwt.encode({"alg": "ES256", "kid": key.kid, **header}, claims, key, algorithms=["ES256"])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --------------------------------------------------------------------------- valid


def test_valid_assertion_gets_a_token_with_the_roles_scopes(
    endpoint: TokenEndpoint, tokens: AccessTokenVerifier, guard: MemoryReplayGuard
) -> None:
    body = endpoint.handle(_form())
    assert validation_errors("TokenResponse", body) == []
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == " ".join(CONSUMER_SCOPES)
    principal = tokens.authenticate(body["access_token"])
    assert principal.client_id == "app-c"
    assert principal.organisation_type == "gemeente"
    assert principal.scopes == frozenset(CONSUMER_SCOPES)
    assert principal.has("candidates:read")
    assert not principal.has("publication:write")
    # The jti is remembered until the assertion could no longer be accepted (exp + leeway).
    assert [e.timestamp() for e in guard.expiries] == [T0 + 60 + 30]


def test_access_token_claims_follow_rfc_9068(endpoint: TokenEndpoint) -> None:
    token = endpoint.handle(_form())["access_token"]
    decoded = jwt.decode(token, KEYS[NODE], algorithms=["ES256"])
    assert decoded.header == {"alg": "ES256", "kid": KEYS[NODE].kid, "typ": "at+jwt"}
    claims = decoded.claims
    assert claims["iss"] == claims["aud"] == NODE
    assert claims["sub"] == claims["client_id"] == "app-c"
    assert claims["org"] == "gemeente"
    assert (claims["iat"], claims["exp"]) == (T0, T0 + 600)
    assert set(claims) == {"iss", "aud", "sub", "client_id", "scope", "org", "iat", "exp", "jti"}


def test_aud_may_be_a_list_containing_the_endpoint(verifier: AssertionVerifier) -> None:
    member = verifier.verify(_assertion(_claims(aud=["https://other.example", TOKEN_URL])))
    assert member.id == "app-c"


# --------------------------------------------------------------------------- assertion matrix


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        (_claims(exp=T0 - 31, iat=T0 - 91), "assertion expired"),
        (_claims(exp=T0 + 600), "exp at most 5 minutes ahead"),
        (_claims(exp=None), "exp is missing"),
        (_claims(exp="soon"), "NumericDate"),
        (_claims(aud="https://node-b.example/v1/oauth/token"), f"aud must be {TOKEN_URL}"),
        (_claims(aud=None), "aud must be"),
        (_claims(sub="someone-else"), "sub must equal iss"),
        (_claims(iss=None, sub=None), "iss is missing"),
        (_claims(iat=T0 + 120), "iat is in the future"),
        (_claims(nbf=T0 + 120), "nbf is in the future"),
        (_claims(jti=None), "jti is missing"),
        (_claims(jti=""), "jti is missing"),
        (_claims(jti=42), "jti is missing"),
    ],
)
def test_bad_assertion_claims_are_refused(
    verifier: AssertionVerifier, guard: MemoryReplayGuard, claims: dict[str, Any], detail: str
) -> None:
    key = KEYS["app-c"]
    with pytest.raises(InvalidClient, match=detail) as info:
        verifier.verify(_assertion(claims, key))
    assert info.value.oauth_error == "invalid_client"
    assert info.value.status == 401
    assert guard.seen == set()  # a refused assertion never burns a jti


def test_leeway_tolerates_small_clock_skew(verifier: AssertionVerifier) -> None:
    assert verifier.verify(_assertion(_claims(exp=T0 - 29, iat=T0 - 89))).id == "app-c"
    assert verifier.verify(_assertion(_claims(exp=T0 + 330, iat=T0 + 29))).id == "app-c"


def test_unknown_client_is_refused(verifier: AssertionVerifier) -> None:
    stranger = generate_signing_key()
    with pytest.raises(InvalidClient, match="unknown client 'stranger'"):
        verifier.verify(_assertion(_claims("stranger"), stranger))


def test_assertion_signed_by_a_key_not_in_the_directory_is_refused(
    verifier: AssertionVerifier,
) -> None:
    rogue = generate_signing_key()
    with pytest.raises(InvalidClient, match="no key with kid"):
        verifier.verify(_assertion(_claims(), rogue))
    # The rogue key pretending to be app-c's listed key: the signature fails.
    impostor = ECKey.generate_key("P-256", parameters={"kid": str(KEYS["app-c"].kid)})
    with pytest.raises(
        InvalidClient, match="signature does not verify against the keys of 'app-c'"
    ):
        verifier.verify(_assertion(_claims(), impostor))
    # Another member's genuine key does not make an assertion from app-c.
    with pytest.raises(InvalidClient, match="signature does not verify"):
        verifier.verify(_assertion(_claims(), KEYS["prov-b"]))


def test_replayed_jti_is_refused(endpoint: TokenEndpoint) -> None:
    form = _form()
    endpoint.handle(form)
    with pytest.raises(InvalidClient, match=r"assertion replayed \(jti already used\)"):
        endpoint.handle(form)


def test_same_jti_from_two_clients_is_not_a_replay(verifier: AssertionVerifier) -> None:
    jti = "shared-id"
    assert verifier.verify(_assertion(_claims("app-c", jti=jti))).id == "app-c"
    assert verifier.verify(_assertion(_claims("prov-b", jti=jti))).id == "prov-b"


def test_alg_none_is_refused(verifier: AssertionVerifier) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    with pytest.raises(InvalidClient, match="alg 'none' is not accepted"):
        verifier.verify(unsigned)


def test_hs256_forged_with_the_public_key_is_refused(verifier: AssertionVerifier) -> None:
    # The classic key-confusion attack: HMAC "signed" with the public JWK as the secret.
    secret = OctKey.import_key(json.dumps(public_jwk(KEYS["app-c"])).encode())
    header = {"alg": "HS256", "kid": KEYS["app-c"].kid}
    forged = jwt.encode(header, _claims(), secret, algorithms=["HS256"])
    with pytest.raises(InvalidClient, match="alg 'HS256' is not accepted"):
        verifier.verify(forged)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30"])
def test_garbage_assertions_are_refused(verifier: AssertionVerifier, garbage: str) -> None:
    with pytest.raises(InvalidClient):
        verifier.verify(garbage)


def test_assertion_after_the_member_left_the_directory_is_refused(
    directory: Directory, guard: MemoryReplayGuard, clock: Clock
) -> None:
    without = directory.model_copy(
        update={"members": tuple(m for m in directory.members if m.id != "app-c")}
    )
    verifier = AssertionVerifier(lambda: without, TOKEN_URL, guard, clock=clock)
    with pytest.raises(InvalidClient, match="unknown client 'app-c'"):
        verifier.verify(_assertion(_claims()))


# --------------------------------------------------------------------------- token request


@pytest.mark.parametrize(
    ("form", "oauth_error", "detail"),
    [
        ({"client_assertion_type": CLIENT_ASSERTION_TYPE}, "invalid_request", "grant_type"),
        ({"grant_type": "password"}, "unsupported_grant_type", "'password' is not supported"),
        ({"grant_type": "client_credentials"}, "invalid_request", "client_assertion_type is"),
        (
            {"grant_type": "client_credentials", "client_assertion_type": "urn:x"},
            "invalid_request",
            "client_assertion_type must be",
        ),
        (
            {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE},
            "invalid_request",
            "client_assertion is missing",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": "x" * 8193,
            },
            "invalid_request",
            r"1\.\.8192",
        ),
    ],
)
def test_malformed_token_requests(
    endpoint: TokenEndpoint, form: dict[str, str], oauth_error: str, detail: str
) -> None:
    with pytest.raises(InvalidTokenRequest, match=detail) as info:
        endpoint.handle(form)
    assert info.value.oauth_error == oauth_error
    assert info.value.status == 400


def test_duplicate_parameters_are_refused(endpoint: TokenEndpoint) -> None:
    form: dict[str, Any] = dict(_form())
    form["grant_type"] = ["client_credentials", "client_credentials"]
    with pytest.raises(InvalidTokenRequest, match="grant_type is given 2 times"):
        endpoint.handle(form)
    single: dict[str, Any] = {k: [v] for k, v in _form().items()}
    assert endpoint.handle(single)["token_type"] == "Bearer"


def test_client_id_parameter_must_match_the_assertion(endpoint: TokenEndpoint) -> None:
    with pytest.raises(InvalidClient, match="client_id 'prov-b'"):
        endpoint.handle(_form(client_id="prov-b"))
    assert endpoint.handle(_form(client_id="app-c"))["scope"]


# --------------------------------------------------------------------------- scopes


def test_scope_narrows(endpoint: TokenEndpoint, tokens: AccessTokenVerifier) -> None:
    body = endpoint.handle(_form(scope="candidates:read  statistics:read candidates:read"))
    assert body["scope"] == "statistics:read candidates:read"
    assert tokens.authenticate(body["access_token"]).scopes == {
        "statistics:read",
        "candidates:read",
    }


def test_blank_scope_counts_as_omitted(endpoint: TokenEndpoint) -> None:
    assert endpoint.handle(_form(scope=""))["scope"] == " ".join(CONSUMER_SCOPES)


@pytest.mark.parametrize(
    ("client", "scope", "detail"),
    [
        ("app-c", "candidates:write", "unknown scope 'candidates:write'"),
        ("app-c", "publication:write", "scope 'publication:write' is not allowed for 'app-c'"),
        ("prov-b", "candidates:read", "allow: opportunities:read"),
        ("pub-q", None, "'pub-q' has no scopes at node 'node-a'"),
    ],
)
def test_scopes_beyond_the_roles_are_invalid_scope(
    endpoint: TokenEndpoint, client: str, scope: str | None, detail: str
) -> None:
    with pytest.raises(InvalidTokenRequest, match=detail) as info:
        endpoint.handle(_form(client, scope=scope))
    assert info.value.oauth_error == "invalid_scope"


@pytest.mark.parametrize(
    ("client", "scope"),
    [
        ("prov-b", "opportunities:read"),
        ("gw-g", "opportunities:read candidates:read"),
        ("pub-p", "publication:write"),
        ("mix-m", " ".join(CONSUMER_SCOPES)),  # publishes to node-b only: no publication here
    ],
)
def test_roles_give_their_scopes(endpoint: TokenEndpoint, client: str, scope: str) -> None:
    assert endpoint.handle(_form(client))["scope"] == scope


def test_publisher_scope_only_at_the_nodes_it_publishes_to(directory: Directory) -> None:
    pub = directory.require_member("pub-p")
    assert allowed_scopes(pub, "node-a") == {"publication:write"}
    assert allowed_scopes(pub, "node-b") == frozenset()
    mix = directory.require_member("mix-m")
    assert "publication:write" in allowed_scopes(mix, "node-b")
    assert grant_scopes(mix, "node-b", "publication:write") == ("publication:write",)
    with pytest.raises(InvalidTokenRequest, match="not allowed"):
        grant_scopes(mix, "node-a", "publication:write")


# --------------------------------------------------------------------------- access tokens


def test_verifier_is_an_authenticator(tokens: AccessTokenVerifier) -> None:
    authenticator: Authenticator = tokens
    assert authenticator is tokens


def test_access_token_for_another_node_is_refused(
    directory: Directory, tokens: AccessTokenVerifier, clock: Clock
) -> None:
    other = AccessTokenIssuer("node-b", KEYS["node-b"], clock=clock)
    token = other.issue(directory.require_member("app-c"), CONSUMER_SCOPES).access_token
    with pytest.raises(InvalidToken, match="token issued for another node"):
        tokens.authenticate(token)


def test_token_from_another_issuer_for_this_node_is_refused(
    directory: Directory, tokens: AccessTokenVerifier, clock: Clock
) -> None:
    # node-b minting tokens with aud node-a: its key is not this node's.
    rogue = AccessTokenIssuer("node-b", KEYS["node-b"], clock=clock)
    claims = jwt.decode(
        rogue.issue(directory.require_member("app-c"), ["candidates:read"]).access_token,
        KEYS["node-b"],
    ).claims
    claims["aud"] = NODE
    header = {"alg": "ES256", "kid": KEYS["node-b"].kid, "typ": "at+jwt"}
    token = jwt.encode(header, claims, KEYS["node-b"], algorithms=["ES256"])
    with pytest.raises(InvalidToken, match="unknown key"):
        tokens.authenticate(token)
    # ... and a token signed by this node's key but naming another issuer.
    claims["iss"] = "node-b"
    header["kid"] = KEYS[NODE].kid
    with pytest.raises(InvalidToken, match="issuer 'node-b' is not this node"):
        tokens.authenticate(jwt.encode(header, claims, KEYS[NODE], algorithms=["ES256"]))


def test_expired_access_token_is_refused(
    endpoint: TokenEndpoint, tokens: AccessTokenVerifier, clock: Clock
) -> None:
    token = endpoint.handle(_form())["access_token"]
    clock.now = T0 + 599
    assert tokens.authenticate(token).client_id == "app-c"
    clock.now = T0 + 600
    with pytest.raises(InvalidToken, match="token expired"):
        tokens.authenticate(token)


def test_tampered_access_token_is_refused(
    endpoint: TokenEndpoint, tokens: AccessTokenVerifier
) -> None:
    header, _, signature = endpoint.handle(_form("prov-b"))["access_token"].split(".")
    claims = jwt.decode(endpoint.handle(_form("prov-b"))["access_token"], KEYS[NODE]).claims
    claims["scope"] = "candidates:read"
    with pytest.raises(InvalidToken, match="signature does not verify"):
        tokens.authenticate(f"{header}.{_b64(claims)}.{signature}")


def _node_token(claims: dict[str, Any], typ: str = "at+jwt") -> str:
    header = {"alg": "ES256", "kid": KEYS[NODE].kid, "typ": typ}
    return jwt.encode(header, claims, KEYS[NODE], algorithms=["ES256"])


def _token_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": NODE,
        "aud": NODE,
        "sub": "app-c",
        "client_id": "app-c",
        "scope": "candidates:read",
        "org": "gemeente",
        "iat": T0,
        "exp": T0 + 600,
        "jti": "t-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("token_claims", "typ", "detail"),
    [
        (_token_claims(), "JWT", "not an access token"),
        (_token_claims(org=None), "at+jwt", "lacks required claims: org"),
        (_token_claims(jti=None, scope=None), "at+jwt", "lacks required claims: scope, jti"),
        (_token_claims(sub="prov-b"), "at+jwt", "sub = client_id"),
        (_token_claims(scope="root"), "at+jwt", "unknown scopes: root"),
        (_token_claims(iat=T0 + 60), "at+jwt", "issued in the future"),
        (_token_claims(aud=None), "at+jwt", "another node"),
    ],
)
def test_malformed_access_tokens_are_refused(
    tokens: AccessTokenVerifier, token_claims: dict[str, Any], typ: str, detail: str
) -> None:
    with pytest.raises(InvalidToken, match=detail):
        tokens.authenticate(_node_token(token_claims, typ))


def test_application_at_jwt_typ_is_accepted(tokens: AccessTokenVerifier) -> None:
    assert tokens.authenticate(_node_token(_token_claims(), "application/at+jwt")).has(
        "candidates:read"
    )


def test_client_assertion_is_not_an_access_token(tokens: AccessTokenVerifier) -> None:
    assertion = make_client_assertion(NODE, KEYS[NODE], TOKEN_URL, now=T0)
    with pytest.raises(InvalidToken):
        tokens.authenticate(assertion)


@pytest.mark.parametrize("garbage", ["", "Bearer", "a.b.c", "e30.e30.e30"])
def test_garbage_access_tokens_are_refused(tokens: AccessTokenVerifier, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.authenticate(garbage)


def test_alg_none_access_token_is_refused(tokens: AccessTokenVerifier) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_token_claims())}."
    with pytest.raises(InvalidToken, match="alg 'none' refused"):
        tokens.authenticate(unsigned)


@pytest.mark.parametrize("ttl", [0, 3601])
def test_access_token_ttl_is_bounded_by_the_spec(ttl: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.3600"):
        AccessTokenIssuer(NODE, KEYS[NODE], ttl_seconds=ttl)


def test_verifier_accepts_a_jwks_during_key_rotation(directory: Directory, clock: Clock) -> None:
    old, new = KEYS[NODE], generate_signing_key()
    verifier = AccessTokenVerifier(NODE, jwks([old, new]), clock=clock)
    member = directory.require_member("app-c")
    for key in (old, new):
        token = AccessTokenIssuer(NODE, key, clock=clock).issue(member, ["events:read"])
        assert verifier.authenticate(token.access_token).scopes == {"events:read"}


def test_a_verified_access_token_is_kept_until_it_expires(
    endpoint: TokenEndpoint, tokens: AccessTokenVerifier, clock: Clock, monkeypatch: Any
) -> None:
    """The signature of a token is checked once; expiry on every use (the test above)."""
    checks: list[str] = []
    check = tokens._check_signature
    monkeypatch.setattr(tokens, "_check_signature", lambda *a: (checks.append("x"), check(*a)))
    token = endpoint.handle(_form())["access_token"]
    for _ in range(3):
        assert tokens.authenticate(token).client_id == "app-c"
    assert len(checks) == 1
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    for _ in range(2):  # a refused token is not kept either
        with pytest.raises(InvalidToken):
            tokens.authenticate(forged)
    assert len(checks) == 3
