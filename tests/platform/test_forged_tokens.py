"""Forged and malformed bearer tokens: every one is refused, for a stated reason, and no
token ever reaches a log record.

The verifier trusts the deployment's local key and a loopback identity provider (a real
HTTP JWKS endpoint), as a deployment with a provider does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.platform.identity_provider import (
    ISSUER,
    IdentityProvider,
    b64url,
    ec_key,
    provider_app,
    provider_claims,
    public_jwk,
    rsa_key,
    sign,
)
from w4r.platform.auth import TokenError, TokenVerifier, generate_signing_key
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.oidc import token_verifier
from w4r.settings import Settings

REFUSED = "The bearer token was refused: "
BAD_SIGNATURE = REFUSED + "its signature does not verify with any trusted key."
NOT_AN_ACCESS_TOKEN = (
    REFUSED + "it is not an access token: its header 'typ' must be 'at+jwt' (RFC 9068)."
)
NOT_AN_OBJECT = REFUSED + "its claims are not a JSON object."
ATTACKER_PATH = "/attacker/jwks"

PROVIDER_KEY = ec_key()
PROVIDER_RSA_KEY = rsa_key()
LOCAL_KEY = generate_signing_key()
ATTACKER_KEY = ec_key()
VIEWER = "{ viewer { role } }"


def now() -> int:
    return int(time.time())


def local_claims(**overrides: Any) -> dict[str, Any]:
    moment = now()
    values = {
        "iss": "w4r-local",
        "aud": "w4r",
        "sub": "local:is-admin",
        "iat": moment,
        "exp": moment + 300,
        "w4r_role": "is-admin",
        **overrides,
    }
    return {name: value for name, value in values.items() if value is not None}


def raw(header: object, payload: object, signature: bytes = b"signature") -> str:
    """A token assembled by hand (JSON values or raw bytes), with any signature."""

    def segment(value: object) -> str:
        return b64url(value if isinstance(value, bytes) else json.dumps(value).encode())

    return f"{segment(header)}.{segment(payload)}.{b64url(signature)}"


def hmac_signed(algorithm: str, secret: bytes, kid: str | None) -> str:
    """An HS* token whose shared secret is public material (the RS/HS confusion)."""
    header = b64url(json.dumps({"alg": algorithm, "typ": "at+jwt", "kid": kid}).encode())
    payload = b64url(json.dumps(provider_claims(realm_access={"roles": ["w4r-is-admin"]})).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[algorithm]
    signature = hmac.new(secret, f"{header}.{payload}".encode(), digest).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def valid() -> str:
    return sign(provider_claims(), PROVIDER_KEY)


def with_payload(token: str, claims: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def with_header(token: str, header: dict[str, Any]) -> str:
    _, payload, signature = token.split(".")
    return f"{b64url(json.dumps(header).encode())}.{payload}.{signature}"


def attacker_signed(**header: Any) -> str:
    return sign(provider_claims(), ATTACKER_KEY, header=header)


FORGERIES: list[Any] = [
    # --- algorithms
    pytest.param(
        lambda: raw(
            {"alg": "none", "typ": "at+jwt", "kid": PROVIDER_KEY.kid}, provider_claims(), b""
        ),
        REFUSED + "Algorithm of 'none' is not allowed",
        id="alg-none",
    ),
    pytest.param(
        lambda: raw({"alg": "none", "typ": "at+jwt", "kid": PROVIDER_KEY.kid}, provider_claims()),
        REFUSED + "Algorithm of 'none' is not allowed",
        id="alg-none-with-a-signature",
    ),
    pytest.param(
        lambda: raw({"alg": "None", "kid": PROVIDER_KEY.kid}, provider_claims()),
        REFUSED + "Algorithm of 'None' is not supported",
        id="alg-None-capitalised",
    ),
    pytest.param(
        lambda: hmac_signed("HS256", PROVIDER_RSA_KEY.as_pem(private=False), PROVIDER_RSA_KEY.kid),
        REFUSED + "Algorithm of 'HS256' is not allowed",
        id="hs256-with-the-rsa-public-key-as-secret",
    ),
    pytest.param(
        lambda: hmac_signed(
            "HS512", json.dumps(public_jwk(PROVIDER_KEY)).encode(), PROVIDER_KEY.kid
        ),
        REFUSED + "Algorithm of 'HS512' is not allowed",
        id="hs512-with-the-public-jwk-as-secret",
    ),
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_RSA_KEY, alg="PS256"),
        REFUSED + "its algorithm 'PS256' is not its key's ('RS256').",
        id="a-jwks-key-with-another-alg",
    ),
    pytest.param(
        lambda: sign(provider_claims(), ATTACKER_KEY, header={"kid": PROVIDER_RSA_KEY.kid}),
        REFUSED + "its algorithm 'ES256' is not its key's ('RS256').",
        id="es256-header-on-an-rsa-kid",
    ),
    # --- keys
    pytest.param(
        lambda: attacker_signed(),
        REFUSED + f"No key for kid: {ATTACKER_KEY.kid!r}",
        id="unknown-kid",
    ),
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_KEY, header={"kid": None}),
        REFUSED + "its header must name the signing key ('kid').",
        id="missing-kid",
    ),
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_KEY, header={"kid": 7}),
        REFUSED + "'kid' in header must be a str",
        id="kid-not-a-string",
    ),
    pytest.param(
        lambda: attacker_signed(kid=PROVIDER_KEY.kid),
        BAD_SIGNATURE,
        id="another-key-under-a-trusted-kid",
    ),
    pytest.param(
        lambda: attacker_signed(jwk=public_jwk(ATTACKER_KEY)),
        REFUSED + f"No key for kid: {ATTACKER_KEY.kid!r}",
        id="embedded-jwk-header-ignored",
    ),
    pytest.param(
        lambda: attacker_signed(jwk=public_jwk(ATTACKER_KEY), kid=PROVIDER_KEY.kid),
        BAD_SIGNATURE,
        id="embedded-jwk-under-a-trusted-kid",
    ),
    pytest.param(
        lambda: attacker_signed(jku="http://127.0.0.1:9" + ATTACKER_PATH, kid=PROVIDER_KEY.kid),
        BAD_SIGNATURE,
        id="jku-header-ignored",
    ),
    pytest.param(
        lambda: attacker_signed(x5u="http://127.0.0.1:9/attacker.pem", kid=PROVIDER_KEY.kid),
        BAD_SIGNATURE,
        id="x5u-header-ignored",
    ),
    pytest.param(
        lambda: sign(local_claims(), PROVIDER_KEY, header={"typ": "JWT"}),
        REFUSED + f"No key for kid: {PROVIDER_KEY.kid!r}",
        id="local-issuer-signed-by-the-provider-key",
    ),
    pytest.param(
        lambda: sign(provider_claims(), LOCAL_KEY),
        REFUSED + f"No key for kid: {LOCAL_KEY.kid!r}",
        id="provider-issuer-signed-by-the-local-key",
    ),
    # --- signature and integrity
    pytest.param(
        lambda: with_payload(
            sign(provider_claims(realm_access={"roles": ["w4r-section-editor"]}), PROVIDER_KEY),
            provider_claims(realm_access={"roles": ["w4r-section-admin"]}),
        ),
        BAD_SIGNATURE,
        id="tampered-payload",
    ),
    pytest.param(
        lambda: with_header(
            valid(), {"alg": "ES256", "typ": "at+jwt", "kid": PROVIDER_KEY.kid, "cty": "x"}
        ),
        BAD_SIGNATURE,
        id="tampered-header",
    ),
    pytest.param(lambda: valid().rsplit(".", 1)[0] + ".", BAD_SIGNATURE, id="empty-signature"),
    pytest.param(
        lambda: valid().rsplit(".", 1)[0] + ".!!!not-base64!!!",
        BAD_SIGNATURE,
        id="garbage-signature",
    ),
    # --- shape
    pytest.param(lambda: "!!!.@@@.###", REFUSED + "Invalid header", id="garbage-base64"),
    pytest.param(lambda: "é.é.é", REFUSED + "Invalid header", id="non-ascii"),
    pytest.param(
        lambda: ".".join(valid().split(".")[:2]),
        REFUSED + "Invalid JSON Web Signature",
        id="two-segments",
    ),
    pytest.param(
        lambda: valid() + ".c2ln", REFUSED + "Invalid JSON Web Signature", id="four-segments"
    ),
    pytest.param(
        lambda: ".".join(
            [b64url(b'{"alg":"RSA-OAEP","enc":"A256GCM"}'), "a2V5", "aXY", "Y2lwaGVy", "dGFn"]
        ),
        REFUSED + "encrypted tokens (JWE) are not accepted; send a signed JWT.",
        id="jwe-shaped",
    ),
    pytest.param(
        lambda: sign(provider_claims(padding="x" * 9000), PROVIDER_KEY),
        "The bearer token is too long.",
        id="oversized",
    ),
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_KEY, header={"note": "x" * 600}),
        REFUSED + "Header size exceeds 512 bytes.",
        id="oversized-header",
    ),
    pytest.param(
        lambda: raw([], provider_claims()),
        REFUSED + "Missing 'alg' value in header",
        id="header-an-array",
    ),
    pytest.param(lambda: sign(b"not json", PROVIDER_KEY), NOT_AN_OBJECT, id="non-json-payload"),
    pytest.param(lambda: sign(b"[1, 2]", PROVIDER_KEY), NOT_AN_OBJECT, id="payload-an-array"),
    pytest.param(lambda: sign(b'"is-admin"', PROVIDER_KEY), NOT_AN_OBJECT, id="payload-a-string"),
    # --- headers
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_KEY, header={"typ": "JWT"}),
        NOT_AN_ACCESS_TOKEN,
        id="typ-JWT-an-id-token",
    ),
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_KEY, header={"typ": None}),
        NOT_AN_ACCESS_TOKEN,
        id="no-typ",
    ),
    pytest.param(
        lambda: sign(
            provider_claims(), PROVIDER_KEY, header={"crit": ["w4r-ext"], "w4r-ext": True}
        ),
        REFUSED + "Unsupported ['w4r-ext'] in header",
        id="unknown-crit-header",
    ),
    pytest.param(
        lambda: sign(provider_claims(), PROVIDER_KEY, header={"crit": ["b64"], "b64": False}),
        REFUSED + "its header lists critical extensions ('crit'); none is supported.",
        id="crit-b64-false",
    ),
    # --- claims
    pytest.param(
        lambda: sign(provider_claims(aud="another-api"), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'aud'",
        id="wrong-audience",
    ),
    pytest.param(
        lambda: sign(provider_claims(aud=["account", "another-api"]), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'aud'",
        id="audience-list-without-ours",
    ),
    pytest.param(
        lambda: sign(provider_claims(aud=[]), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'aud'",
        id="empty-audience-list",
    ),
    pytest.param(
        lambda: sign(provider_claims(iss="https://evil.example/realms/w4r"), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'iss'",
        id="wrong-issuer",
    ),
    pytest.param(
        lambda: sign(provider_claims(iss=ISSUER + "/"), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'iss'",
        id="issuer-with-a-trailing-slash",
    ),
    pytest.param(
        lambda: sign(provider_claims(iss=[ISSUER]), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'iss'",
        id="issuer-a-list",
    ),
    pytest.param(
        lambda: sign(provider_claims(exp=now() - 3600, iat=now() - 4000, nbf=None), PROVIDER_KEY),
        REFUSED + "The token is expired",
        id="expired",
    ),
    pytest.param(
        lambda: sign(provider_claims(nbf=now() + 3600, exp=now() + 7200), PROVIDER_KEY),
        REFUSED + "The token is not yet valid",
        id="not-yet-valid",
    ),
    pytest.param(
        lambda: sign(provider_claims(iat=now() + 3600, exp=now() + 7200, nbf=None), PROVIDER_KEY),
        REFUSED + "The token was issued in the future",
        id="issued-in-the-future",
    ),
    pytest.param(
        lambda: sign(provider_claims(exp="tomorrow"), PROVIDER_KEY),
        REFUSED + "Claim 'exp' must be a NumericDate value",
        id="exp-not-a-number",
    ),
    pytest.param(
        lambda: sign(provider_claims(sub=42), PROVIDER_KEY),
        REFUSED + "Claim 'sub' must be a StringOrURI value",
        id="sub-not-a-string",
    ),
    pytest.param(
        lambda: sign(provider_claims(sub=""), PROVIDER_KEY),
        REFUSED + "Invalid claim: 'sub'",
        id="empty-sub",
    ),
    pytest.param(
        lambda: sign(provider_claims(client_id=7), PROVIDER_KEY),
        REFUSED + "Claim 'client_id' must be a string",
        id="client_id-not-a-string",
    ),
    *(
        pytest.param(
            lambda claim=claim: sign(provider_claims(**{claim: None}), PROVIDER_KEY),
            REFUSED + f"Missing claim: {claim!r}",
            id=f"missing-{claim}",
        )
        for claim in ("exp", "sub", "aud", "iat", "client_id", "jti")
    ),
    pytest.param(
        lambda: sign(provider_claims(iss=None), PROVIDER_KEY),
        REFUSED + "Missing claim: 'iss'",
        id="missing-iss",
    ),
    # --- roles and sections
    pytest.param(
        lambda: sign(provider_claims(realm_access={"roles": ["w4r-superuser"]}), PROVIDER_KEY),
        "The token grants no w4r role: none of its 'realm_access.roles' is mapped to one.",
        id="unknown-role",
    ),
    pytest.param(
        lambda: sign(provider_claims(realm_access={"roles": "is-admin"}), PROVIDER_KEY),
        "The token grants no w4r role: none of its 'realm_access.roles' is mapped to one.",
        id="a-w4r-role-name-is-not-a-provider-role",
    ),
    pytest.param(
        lambda: sign(provider_claims(realm_access=None), PROVIDER_KEY),
        "The token's 'realm_access.roles' claim must be a role name or a list of them.",
        id="no-role-claim",
    ),
    pytest.param(
        lambda: sign(provider_claims(realm_access={"roles": [1, 2]}), PROVIDER_KEY),
        "The token's 'realm_access.roles' claim must be a role name or a list of them.",
        id="role-claim-of-numbers",
    ),
    pytest.param(
        lambda: sign(provider_claims(realm_access={"roles": ["w4r-is-admin"]}), PROVIDER_KEY),
        "An is-admin token is global and must not name a section.",
        id="is-role-with-a-section",
    ),
    pytest.param(
        lambda: sign(provider_claims(w4r_section=None), PROVIDER_KEY),
        "A section-admin token must name its section.",
        id="section-role-without-a-section",
    ),
    pytest.param(
        lambda: sign(provider_claims(w4r_section=["gb"]), PROVIDER_KEY),
        "The token's 'w4r_section' claim must be a section code.",
        id="section-claim-a-list",
    ),
]


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.publish(PROVIDER_KEY, PROVIDER_RSA_KEY)
    provider.publish(ATTACKER_KEY, path=ATTACKER_PATH)
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def module_settings(settings: Settings) -> Settings:
    """The test settings with the local key these forgeries use."""
    return settings.model_copy(
        update={"local_signing_key": SecretStr(json.dumps(LOCAL_KEY.as_dict(private=True)))}
    )


@pytest.fixture(scope="module")
async def verifier(
    module_settings: Settings, idp: IdentityProvider
) -> AsyncIterator[TokenVerifier]:
    from tests.platform.identity_provider import provider_settings

    verifier = token_verifier(provider_settings(module_settings, idp), LOCAL_KEY)
    yield verifier
    await verifier.aclose()


@pytest.fixture(scope="module")
async def oidc_client(
    module_settings: Settings, database_target: DatabaseTarget, idp: IdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    async with provider_app(module_settings, database_target, idp) as http:
        yield http


async def test_the_genuine_tokens_are_accepted(verifier: TokenVerifier) -> None:
    # the forgeries below are refused for what they change, not because nothing passes
    provider = await verifier.verify(valid())
    local = await verifier.verify(sign(local_claims(), LOCAL_KEY, header={"typ": "JWT"}))
    assert (provider.role.value, local.role.value) == ("section-admin", "is-admin")


def test_there_are_at_least_30_forgeries() -> None:
    assert len(FORGERIES) >= 30


@pytest.mark.parametrize(("forge", "message"), FORGERIES)
async def test_a_forged_token_is_refused(
    verifier: TokenVerifier, forge: Callable[[], str], message: str
) -> None:
    with pytest.raises(TokenError) as refused:
        await verifier.verify(forge())
    assert str(refused.value) == message


async def test_key_urls_in_headers_are_never_fetched(
    verifier: TokenVerifier, idp: IdentityProvider
) -> None:
    # given tokens whose headers point at the attacker's key set on a reachable server
    jku = idp.base_url + ATTACKER_PATH
    tokens = [attacker_signed(jku=jku), attacker_signed(x5u=jku), attacker_signed(jku=jku, kid="x")]

    # when they are verified
    for token in tokens:
        with pytest.raises(TokenError):
            await verifier.verify(token)

    # then the attacker's URL was never asked
    assert idp.fetches(ATTACKER_PATH) == 0


def formatted(record: logging.LogRecord) -> str:
    """Everything a log handler could write for the record, traceback included."""
    return logging.Formatter("%(name)s %(levelname)s %(message)s").format(record) + repr(
        record.__dict__
    )


async def test_no_token_reaches_a_log_record(
    oidc_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given a genuine token (of an IS analyst: no section to create) and every forgery
    # that fits in an HTTP header
    genuine = sign(
        provider_claims(realm_access={"roles": ["w4r-is-analyst"]}, w4r_section=None), PROVIDER_KEY
    )
    forgeries = [token for token in (param.values[0]() for param in FORGERIES) if token.isascii()]
    tokens = [genuine, *forgeries]

    # when each is sent to the app with every logger at DEBUG
    statuses = []
    with caplog.at_level(logging.DEBUG):
        for token in tokens:
            response = await oidc_client.post(
                "/graphql",
                json={"query": VIEWER},
                headers={
                    "accept": "application/graphql-response+json",
                    "authorization": f"Bearer {token}",
                },
            )
            statuses.append(response.status_code)

    # then the genuine one was answered, every forgery refused as invalid_token
    assert statuses == [200] + [401] * len(forgeries)

    # and no record holds a token, nor a token's signature
    signatures = {token.split(".")[2] for token in tokens if token.count(".") == 2}
    secrets = {secret for secret in set(tokens) | signatures if len(secret) >= 16}
    assert caplog.records, "the capture saw no record at all"
    leaks = [
        record.name
        for record in caplog.records
        for secret in secrets
        if secret in formatted(record)
    ]
    assert leaks == []
