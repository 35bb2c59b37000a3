"""Signing keys and the signed federation directory (OW-FED-002, OW-FED-012, OW-FED-013)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from openwerk.directory import (
    DIRECTORY_TYP,
    Directory,
    DirectoryCache,
    DirectoryExpiredError,
    DirectoryFormatError,
    DirectoryNotYetValidError,
    DirectoryRollbackError,
    DirectorySignatureError,
    DirectoryUnavailableError,
    UnknownOperatorKeyError,
    load_directory,
    sign_directory,
    verify_directory,
)
from openwerk.keys import (
    KeyFileError,
    generate_signing_key,
    jwks,
    load_jwks,
    load_private_key,
    load_public_jwk,
    public_jwk,
    save_jwks,
    save_private_key,
    save_public_jwk,
)

T0 = 1_800_000_000  # a fixed "now" (2027-01-15)


def _member(member_id: str, key: ECKey, **extra: Any) -> dict[str, Any]:
    return {
        "id": member_id,
        "name": f"Member {member_id}",
        "organisationType": "gemeente",
        "roles": ["provider", "consumer"],
        "jwks": jwks([key]),
        **extra,
    }


def _payload(*members: dict[str, Any], iat: int = T0, exp: int = T0 + 86_400) -> dict[str, Any]:
    return {"iss": "werkbedrijf-test", "iat": iat, "exp": exp, "members": list(members)}


@pytest.fixture(scope="module")
def operator() -> ECKey:
    return generate_signing_key()


@pytest.fixture(scope="module")
def member_key() -> ECKey:
    return generate_signing_key()


@pytest.fixture
def payload(member_key: ECKey) -> dict[str, Any]:
    return _payload(
        _member("node-a", member_key, baseUrl="https://node-a.example/v1", regions=["AM12"]),
        _member("app-c", member_key, roles=["consumer"]),
        _member("pub-p", member_key, roles=["publisher"], publishesTo=["node-a"]),
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --------------------------------------------------------------------------- keys


def test_generated_key_is_p256_with_thumbprint_kid() -> None:
    key = generate_signing_key()
    assert key.is_private
    assert key.get("crv") == "P-256"
    assert key.kid == key.thumbprint()
    jwk = public_jwk(key)
    assert "d" not in jwk
    assert jwk["kid"] == key.kid
    assert jwk["alg"] == "ES256"
    assert jwk["use"] == "sig"


def test_private_key_round_trip_with_mode_0600(tmp_path: Path) -> None:
    key = generate_signing_key()
    path = save_private_key(key, tmp_path / "node.jwk")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_private_key(path)
    assert loaded.kid == key.kid
    assert loaded.as_dict(private=True)["d"] == key.as_dict(private=True)["d"]
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        save_private_key(key, path)
    save_private_key(generate_signing_key(), path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_private_key(path).kid != key.kid


def test_public_jwk_and_jwks_round_trip(tmp_path: Path) -> None:
    one, two = generate_signing_key(), generate_signing_key()
    pub = save_public_jwk(one, tmp_path / "one.pub.jwk")
    assert load_public_jwk(pub) == public_jwk(one)
    set_path = save_jwks([one, two], tmp_path / "keys.jwks")
    loaded = load_jwks(set_path)
    assert [k["kid"] for k in loaded["keys"]] == [one.kid, two.kid]
    assert all("d" not in k for k in loaded["keys"])


def test_key_files_of_the_wrong_kind_are_refused(tmp_path: Path) -> None:
    key = generate_signing_key()
    pub = save_public_jwk(key, tmp_path / "pub.jwk")
    with pytest.raises(KeyFileError, match="public key"):
        load_private_key(pub)
    priv = save_private_key(key, tmp_path / "priv.jwk")
    with pytest.raises(KeyFileError, match="private key"):
        load_public_jwk(priv)
    p384 = ECKey.generate_key("P-384")
    (tmp_path / "p384.jwk").write_text(json.dumps(p384.as_dict(private=True)))
    with pytest.raises(KeyFileError, match="P-256"):
        load_private_key(tmp_path / "p384.jwk")
    (tmp_path / "junk.jwk").write_text("not json")
    with pytest.raises(KeyFileError, match="not JSON"):
        load_private_key(tmp_path / "junk.jwk")


# --------------------------------------------------------------------------- sign / verify


def test_sign_and_verify_round_trip(operator: ECKey, payload: dict[str, Any]) -> None:
    token = sign_directory(payload, operator)
    header = json.loads(_unb64(token.split(".")[0]))
    assert header == {"alg": "ES256", "kid": operator.kid, "typ": DIRECTORY_TYP}
    directory = verify_directory(token, public_jwk(operator), now=T0)
    assert directory.iss == "werkbedrijf-test"
    assert directory.to_payload() == payload
    node = directory.require_member("node-a")
    assert node.base_url == "https://node-a.example/v1"
    assert node.key_ids() == tuple(k["kid"] for k in payload["members"][0]["jwks"]["keys"])
    assert [m.id for m in directory.providers()] == ["node-a"]  # the only one with a baseUrl
    assert [m.id for m in directory.consumers()] == ["node-a", "app-c"]
    assert directory.member("nobody") is None
    assert directory.keys_of("pub-p") == payload["members"][2]["jwks"]
    assert directory.require_member("pub-p").publishes_to == ("node-a",)
    # A signed Directory model re-signs to the same payload.
    again = verify_directory(sign_directory(directory, operator), operator, now=T0)
    assert again == directory


def test_tampered_payload_is_refused(operator: ECKey, payload: dict[str, Any]) -> None:
    header, body, signature = sign_directory(payload, operator).split(".")
    claims = json.loads(_unb64(body))
    claims["members"][0]["baseUrl"] = "https://evil.example/v1"
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    with pytest.raises(DirectorySignatureError, match="altered after signing"):
        verify_directory(forged, public_jwk(operator), now=T0)


def test_signature_by_another_key_under_the_pinned_kid_is_refused(
    operator: ECKey, payload: dict[str, Any]
) -> None:
    impostor = ECKey.generate_key("P-256", parameters={"kid": str(operator.kid)})
    with pytest.raises(DirectorySignatureError):
        verify_directory(sign_directory(payload, impostor), public_jwk(operator), now=T0)


def test_unknown_operator_key_is_refused(operator: ECKey, payload: dict[str, Any]) -> None:
    other = generate_signing_key()
    with pytest.raises(UnknownOperatorKeyError, match="unknown operator key"):
        verify_directory(sign_directory(payload, other), public_jwk(operator), now=T0)
    # Pinning both keys (a rollover) accepts either.
    both = jwks([operator, other])
    assert verify_directory(sign_directory(payload, other), both, now=T0).iss


def test_expiry_and_issue_time_are_enforced(operator: ECKey, payload: dict[str, Any]) -> None:
    token = sign_directory(payload, operator)
    pinned = public_jwk(operator)
    assert verify_directory(token, pinned, now=payload["exp"] - 1)
    with pytest.raises(DirectoryExpiredError, match="expired"):
        verify_directory(token, pinned, now=payload["exp"])
    assert verify_directory(token, pinned, now=payload["iat"] - 60)  # within the 60 s skew
    with pytest.raises(DirectoryNotYetValidError, match="future"):
        verify_directory(token, pinned, now=payload["iat"] - 61)


def _sign_raw(claims: Any, key: ECKey, typ: str = DIRECTORY_TYP) -> str:
    header = {"alg": "ES256", "kid": key.kid, "typ": typ}
    return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=["ES256"])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["members"][0].update(roles=[]), "roles"),
        (lambda p: p["members"][0].update(id="Not An Id"), "id"),
        (lambda p: p["members"][0].update(colour="blue"), "colour"),
        (lambda p: p.pop("exp"), "exp"),
        (lambda p: p["members"].append(dict(p["members"][0])), "more than once"),
        (lambda p: p["members"][0]["jwks"]["keys"][0].update(d="secret"), "private"),
        (lambda p: p.update(exp=p["iat"]), "exp must be after iat"),
    ],
)
def test_schema_invalid_payload_is_refused(
    operator: ECKey, payload: dict[str, Any], mutate: Any, message: str
) -> None:
    mutate(payload)
    with pytest.raises(DirectoryFormatError, match=message):
        verify_directory(_sign_raw(payload, operator), public_jwk(operator), now=T0)
    with pytest.raises(DirectoryFormatError, match="refusing to sign"):
        sign_directory(payload, operator)


def test_not_a_directory_is_refused(operator: ECKey, payload: dict[str, Any]) -> None:
    pinned = public_jwk(operator)
    with pytest.raises(DirectoryFormatError, match="JWS compact"):
        verify_directory("not a jws", pinned, now=T0)
    with pytest.raises(DirectoryFormatError, match="typ"):
        verify_directory(_sign_raw(payload, operator, typ="JWT"), pinned, now=T0)
    header = {"alg": "ES256", "kid": operator.kid, "typ": DIRECTORY_TYP}
    token = jws.serialize_compact(header, b"[not json", operator, algorithms=["ES256"])
    with pytest.raises(DirectoryFormatError, match="JSON"):
        verify_directory(token, pinned, now=T0)


def test_load_directory_from_text_or_file(
    operator: ECKey, payload: dict[str, Any], tmp_path: Path
) -> None:
    token = sign_directory(payload, operator)
    path = tmp_path / "directory.jws"
    path.write_text(token + "\n")
    assert load_directory(token, operator, now=T0) == load_directory(path, operator, now=T0)
    assert load_directory(str(path), operator, now=T0).iss == "werkbedrijf-test"
    with pytest.raises(DirectoryUnavailableError, match="cannot read"):
        load_directory(tmp_path / "missing.jws", operator, now=T0)


# --------------------------------------------------------------------------- cache


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _signed(operator: ECKey, member_key: ECKey, *, iat: int, exp: int, name: str) -> str:
    return sign_directory(_payload(_member(name, member_key), iat=iat, exp=exp), operator)


def test_cache_refreshes_when_exp_is_reached(operator: ECKey, member_key: ECKey) -> None:
    first = _signed(operator, member_key, iat=T0, exp=T0 + 100, name="node-old")
    second = _signed(operator, member_key, iat=T0 + 90, exp=T0 + 200, name="node-new")
    served = [first, second]
    calls: list[str] = []

    def loader() -> str:
        calls.append("load")
        return served[0] if len(calls) == 1 else served[1]

    clock = Clock(T0)
    cache = DirectoryCache(loader, public_jwk(operator), max_age=None, clock=clock)
    assert cache.get().members[0].id == "node-old"
    clock.now = T0 + 99
    assert cache().members[0].id == "node-old"  # still valid: no reload
    assert len(calls) == 1
    clock.now = T0 + 100
    assert cache.get().members[0].id == "node-new"
    assert len(calls) == 2


def test_cache_keeps_old_directory_only_until_its_own_exp(
    operator: ECKey, member_key: ECKey
) -> None:
    good = _signed(operator, member_key, iat=T0, exp=T0 + 100, name="node-a")
    broken = iter([good])

    def loader() -> str:
        return next(broken, "garbage")

    clock = Clock(T0)
    cache = DirectoryCache(
        loader, operator, refresh_margin=50, max_age=None, retry_interval=10, clock=clock
    )
    assert cache.get().members[0].id == "node-a"
    clock.now = T0 + 60  # inside the margin: refresh fails, old one still valid
    assert cache.get().members[0].id == "node-a"
    assert isinstance(cache.last_error, DirectoryFormatError)
    clock.now = T0 + 100  # the old one's exp: no longer served
    with pytest.raises(DirectoryFormatError):
        cache.get()


def test_cache_refuses_a_rollback_to_an_older_directory(operator: ECKey, member_key: ECKey) -> None:
    newer = _signed(operator, member_key, iat=T0, exp=T0 + 1000, name="node-a")
    older = _signed(operator, member_key, iat=T0 - 500, exp=T0 + 2000, name="node-removed")
    served = iter([newer, older])
    clock = Clock(T0)
    cache = DirectoryCache(lambda: next(served), operator, max_age=None, clock=clock)
    assert cache.get().iat == T0
    with pytest.raises(DirectoryRollbackError, match="stale"):
        cache.refresh()
    current = cache.current
    assert isinstance(current, Directory)
    assert current.members[0].id == "node-a"


def test_cache_rereads_its_file_after_max_age(
    operator: ECKey, member_key: ECKey, tmp_path: Path
) -> None:
    path = tmp_path / "directory.jws"
    path.write_text(_signed(operator, member_key, iat=T0, exp=T0 + 86_400, name="node-a"))
    clock = Clock(T0)
    cache = DirectoryCache(path, operator, max_age=3600, clock=clock)
    assert cache.get().members[0].id == "node-a"
    path.write_text(_signed(operator, member_key, iat=T0 + 10, exp=T0 + 86_400, name="node-b"))
    clock.now = T0 + 3599
    assert cache.get().members[0].id == "node-a"
    clock.now = T0 + 3600
    assert cache.get().members[0].id == "node-b"


def test_cache_wraps_loader_failures(operator: ECKey) -> None:
    def broken() -> str:
        raise ConnectionError("operator unreachable")

    cache = DirectoryCache(broken, operator, clock=Clock(T0))
    with pytest.raises(DirectoryUnavailableError, match="operator unreachable") as info:
        cache.get()
    assert isinstance(info.value.__cause__, ConnectionError)
