"""The identity provider: its JWK set over real HTTP (cache, rotation, rate limit, outage),
its claims (role map, section), its settings, and its tokens through the app."""

from __future__ import annotations

import asyncio
import logging
import secrets
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from joserfc.errors import SecurityWarning

from tests.conftest import GraphQLClient
from tests.platform.identity_provider import (
    AUDIENCE,
    ISSUER,
    ROLE_MAP,
    IdentityProvider,
    ec_key,
    provider_app,
    provider_claims,
    public_jwk,
    rsa_key,
    sign,
)
from w4r.platform.auth import Principal, Role, TokenError, TokenVerifier
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.oidc import (
    MAX_CACHE_SECONDS,
    MIN_CACHE_SECONDS,
    JwksCache,
    cache_seconds,
    provider_issuer,
    signing_keys,
    token_verifier,
)
from w4r.settings import Settings

REFUSED = "The bearer token was refused: "
MIN_REFRESH_SECONDS = 15.0
CACHE_SECONDS = 300.0

FIRST_KEY = ec_key()
SECOND_KEY = ec_key()

VIEWER = "{ viewer { role subject sectionCode } }"
SECTION_UPDATE = """
mutation ($input: SectionUpdateInput!) {
  sectionUpdate(input: $input) { section { code name } errors { code } }
}
"""
SECTION_NAME = "{ section { code name } }"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.publish(FIRST_KEY)
    yield provider
    provider.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def provider_settings(idp: IdentityProvider, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": idp.jwks_url,
        "oidc_role_map": ROLE_MAP,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
async def jwks(idp: IdentityProvider, clock: Clock) -> AsyncIterator[JwksCache]:
    cache = JwksCache(
        idp.jwks_url,
        default_cache_seconds=CACHE_SECONDS,
        min_refresh_seconds=MIN_REFRESH_SECONDS,
        clock=clock,
    )
    yield cache
    await cache.aclose()


@pytest.fixture
def verifier(idp: IdentityProvider, jwks: JwksCache) -> TokenVerifier:
    trusted = provider_issuer(provider_settings(idp), keys=jwks)
    return TokenVerifier([trusted], leeway_seconds=30)


async def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenError) as refused:
        await verifier.verify(token)
    return str(refused.value)


# --- accepted tokens ---------------------------------------------------------------------


async def test_a_provider_access_token_gives_its_principal(
    idp: IdentityProvider, verifier: TokenVerifier
) -> None:
    # given a section admin's access token
    claims = provider_claims()

    # when
    principal = await verifier.verify(sign(claims, FIRST_KEY))

    # then
    assert principal == Principal(
        role=Role.SECTION_ADMIN, subject=claims["sub"], section_code="gb", token_id=claims["jti"]
    )
    assert idp.fetches() == 1


@pytest.mark.parametrize("token_type", ["at+jwt", "application/at+jwt", "AT+JWT"])
async def test_both_access_token_types_are_accepted(
    verifier: TokenVerifier, token_type: str
) -> None:
    token = sign(provider_claims(), FIRST_KEY, header={"typ": token_type})

    assert (await verifier.verify(token)).role is Role.SECTION_ADMIN


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        pytest.param(["w4r-section-editor", "w4r-section-admin"], Role.SECTION_ADMIN, id="admin"),
        pytest.param(["w4r-event-host", "w4r-section-editor"], Role.SECTION_EDITOR, id="editor"),
        pytest.param("w4r-event-host", Role.EVENT_HOST, id="one-name-as-a-string"),
        pytest.param(["uma_authorization", "w4r-event-host"], Role.EVENT_HOST, id="unmapped"),
    ],
)
async def test_the_most_privileged_mapped_role_wins(
    verifier: TokenVerifier, roles: Any, role: Role
) -> None:
    # given a token with several provider roles
    token = sign(provider_claims(realm_access={"roles": roles}), FIRST_KEY)

    # when / then
    assert (await verifier.verify(token)).role is role


async def test_is_staff_have_no_section(verifier: TokenVerifier) -> None:
    # given an IS admin (also holding a section role), whose token names no section
    claims = provider_claims(
        realm_access={"roles": ["w4r-section-admin", "w4r-is-admin"]}, w4r_section=None
    )

    # when
    principal = await verifier.verify(sign(claims, FIRST_KEY))

    # then
    assert (principal.role, principal.section_code) == (Role.IS_ADMIN, None)


async def test_the_role_and_section_claims_are_configurable(
    idp: IdentityProvider, jwks: JwksCache
) -> None:
    # given a provider that puts roles under its client and the section in an attribute
    settings = provider_settings(
        idp,
        oidc_role_claim="resource_access.w4r-console.roles",
        oidc_section_claim="attributes.section",
        oidc_role_map={"editor": "section-editor"},
    )
    verifier = TokenVerifier([provider_issuer(settings, keys=jwks)], leeway_seconds=30)
    claims = provider_claims(
        realm_access=None,
        w4r_section=None,
        resource_access={"w4r-console": {"roles": ["editor"]}},
        attributes={"section": "fr"},
    )

    # when
    principal = await verifier.verify(sign(claims, FIRST_KEY))

    # then
    assert (principal.role, principal.section_code) == (Role.SECTION_EDITOR, "fr")


async def test_an_id_token_is_accepted_only_when_access_token_typing_is_off(
    idp: IdentityProvider, jwks: JwksCache, verifier: TokenVerifier
) -> None:
    # given a token typed as a plain JWT (what an ID token looks like)
    token = sign(provider_claims(), FIRST_KEY, header={"typ": "JWT"})
    lenient = TokenVerifier(
        [provider_issuer(provider_settings(idp, oidc_require_at_jwt=False), keys=jwks)],
        leeway_seconds=30,
    )

    # when / then
    assert await refusal(verifier, token) == (
        REFUSED + "it is not an access token: its header 'typ' must be 'at+jwt' (RFC 9068)."
    )
    assert (await lenient.verify(token)).role is Role.SECTION_ADMIN


# --- the key set: rotation, removal, rate limit, outage ----------------------------------


async def test_a_new_key_is_trusted_once_the_jwks_publishes_it(
    idp: IdentityProvider, verifier: TokenVerifier, clock: Clock
) -> None:
    # given the first key is known and the provider rotates to a second one
    await verifier.verify(sign(provider_claims(), FIRST_KEY))
    idp.publish(FIRST_KEY, SECOND_KEY)
    clock.advance(MIN_REFRESH_SECONDS)

    # when a token signed by the new key arrives
    principal = await verifier.verify(sign(provider_claims(), SECOND_KEY))

    # then its unknown kid made the cache fetch the set once more
    assert principal.role is Role.SECTION_ADMIN
    assert idp.fetches() == 2


async def test_a_removed_key_is_refused_after_the_next_refresh(
    idp: IdentityProvider, verifier: TokenVerifier, jwks: JwksCache, clock: Clock
) -> None:
    # given both keys are trusted
    idp.publish(FIRST_KEY, SECOND_KEY)
    old_token = sign(provider_claims(), FIRST_KEY)
    await verifier.verify(old_token)

    # when the provider drops the first key and the cached set expires
    idp.publish(SECOND_KEY)
    clock.advance(CACHE_SECONDS)

    # then the first key's tokens are refused, the second key's still accepted
    assert await refusal(verifier, old_token) == REFUSED + f"No key for kid: {FIRST_KEY.kid!r}"
    assert (await verifier.verify(sign(provider_claims(), SECOND_KEY))).role is Role.SECTION_ADMIN
    assert jwks.key_ids == {SECOND_KEY.kid}
    assert idp.fetches() == 2


async def test_refreshes_for_unknown_kids_are_rate_limited(
    idp: IdentityProvider, verifier: TokenVerifier, clock: Clock
) -> None:
    # given the set was fetched a while ago
    await verifier.verify(sign(provider_claims(), FIRST_KEY))
    clock.advance(MIN_REFRESH_SECONDS)
    unknown = ec_key()

    # when 20 tokens with unknown kids arrive within one refresh interval
    for _ in range(20):
        await refusal(
            verifier, sign(provider_claims(), unknown, header={"kid": secrets.token_hex(8)})
        )
        clock.advance(MIN_REFRESH_SECONDS / 40)

    # then the first one caused one fetch, the others none
    assert idp.fetches() == 2

    # and once the interval has passed, the next unknown kid may fetch again (once)
    clock.advance(MIN_REFRESH_SECONDS)
    await refusal(verifier, sign(provider_claims(), unknown))
    await refusal(verifier, sign(provider_claims(), unknown))
    assert idp.fetches() == 3


async def test_a_new_key_is_refused_until_the_refresh_interval_has_passed(
    idp: IdentityProvider, verifier: TokenVerifier, clock: Clock
) -> None:
    # given a refresh happened just now (for a token with an unknown kid)
    await verifier.verify(sign(provider_claims(), FIRST_KEY))
    clock.advance(MIN_REFRESH_SECONDS)
    await refusal(verifier, sign(provider_claims(), ec_key()))
    idp.publish(FIRST_KEY, SECOND_KEY)
    token = sign(provider_claims(), SECOND_KEY)

    # when / then the new key waits for the interval
    assert await refusal(verifier, token) == REFUSED + f"No key for kid: {SECOND_KEY.kid!r}"
    clock.advance(MIN_REFRESH_SECONDS)
    assert (await verifier.verify(token)).role is Role.SECTION_ADMIN
    assert idp.fetches() == 3


async def test_concurrent_refreshes_share_one_fetch(idp: IdentityProvider, clock: Clock) -> None:
    # given a cache without a minimum interval, a slow provider and a new key
    jwks = JwksCache(
        idp.jwks_url, default_cache_seconds=CACHE_SECONDS, min_refresh_seconds=0, clock=clock
    )
    verifier = TokenVerifier(
        [provider_issuer(provider_settings(idp), keys=jwks)], leeway_seconds=30
    )
    try:
        await verifier.verify(sign(provider_claims(), FIRST_KEY))
        idp.publish(FIRST_KEY, SECOND_KEY)
        idp.slow_down(0.3)

        # when ten requests with the new key's tokens arrive at once
        principals = await asyncio.gather(
            *(verifier.verify(sign(provider_claims(), SECOND_KEY)) for _ in range(10))
        )
    finally:
        await verifier.aclose()

    # then they were all served by one more fetch
    assert {principal.role for principal in principals} == {Role.SECTION_ADMIN}
    assert idp.fetches() == 2


async def test_an_unreachable_jwks_keeps_the_last_good_keys(
    idp: IdentityProvider,
    verifier: TokenVerifier,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given the keys were fetched, then the provider goes away and the set expires
    token = sign(provider_claims(), FIRST_KEY)
    await verifier.verify(token)
    idp.stop()
    clock.advance(CACHE_SECONDS)

    # when a token of the known key arrives
    with caplog.at_level(logging.WARNING, logger="w4r.platform.oidc"):
        principal = await verifier.verify(token)

    # then it is still accepted, and the failure is logged without the token
    assert principal.role is Role.SECTION_ADMIN
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"JWKS fetch from {idp.jwks_url} failed: ConnectError")
    assert record.getMessage().endswith("Keeping the 1 keys fetched before.")
    assert token not in record.getMessage()


@pytest.mark.parametrize(
    ("status", "document", "reason"),
    [
        pytest.param(503, {"keys": []}, "HTTP status 503.", id="http-503"),
        pytest.param(200, ["not", "a", "set"], "the response is not a JWK set", id="not-a-set"),
        pytest.param(
            200, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "no usable public", id="only-oct"
        ),
    ],
)
async def test_a_bad_jwks_response_keeps_the_last_good_keys(
    idp: IdentityProvider,
    verifier: TokenVerifier,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    status: int,
    document: object,
    reason: str,
) -> None:
    # given the keys were fetched, then the provider answers badly
    token = sign(provider_claims(), FIRST_KEY)
    await verifier.verify(token)
    idp.publish_document(document)
    idp.answer_with(status)
    clock.advance(CACHE_SECONDS)

    # when
    with caplog.at_level(logging.WARNING, logger="w4r.platform.oidc"):
        principal = await verifier.verify(token)

    # then
    assert principal.role is Role.SECTION_ADMIN
    assert idp.fetches() == 2
    assert [reason in record.getMessage() for record in caplog.records] == [True]


async def test_no_key_is_trusted_before_a_first_successful_fetch(
    idp: IdentityProvider, verifier: TokenVerifier, clock: Clock
) -> None:
    # given a provider that fails
    idp.answer_with(500)
    token = sign(provider_claims(), FIRST_KEY)

    # when / then: refused, and retried only after the interval
    assert await refusal(verifier, token) == REFUSED + f"No key for kid: {FIRST_KEY.kid!r}"
    assert await refusal(verifier, token) == REFUSED + f"No key for kid: {FIRST_KEY.kid!r}"
    assert idp.fetches() == 1
    idp.answer_with(200)
    clock.advance(MIN_REFRESH_SECONDS)
    assert (await verifier.verify(token)).role is Role.SECTION_ADMIN
    assert idp.fetches() == 2


async def test_cache_control_max_age_decides_when_the_set_expires(
    idp: IdentityProvider, verifier: TokenVerifier, clock: Clock
) -> None:
    # given a set served with max-age=120
    idp.publish(FIRST_KEY, cache_control="public, max-age=120")
    token = sign(provider_claims(), FIRST_KEY)
    await verifier.verify(token)

    # when / then: kept for 120 s, fetched again after
    clock.advance(119)
    await verifier.verify(token)
    assert idp.fetches() == 1
    clock.advance(1)
    await verifier.verify(token)
    assert idp.fetches() == 2


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        (None, CACHE_SECONDS),
        ("max-age=600", 600.0),
        ("public, max-age=3600, must-revalidate", 3600.0),
        ('max-age="900"', 900.0),
        ("max-age=5", MIN_CACHE_SECONDS),
        ("max-age=31536000", MAX_CACHE_SECONDS),
        ("no-store", MIN_CACHE_SECONDS),
        ("no-cache, max-age=600", MIN_CACHE_SECONDS),
        ("s-maxage=600", CACHE_SECONDS),
        ("max-age=abc", CACHE_SECONDS),
    ],
)
def test_cache_seconds_honours_max_age_within_bounds(
    cache_control: str | None, seconds: float
) -> None:
    assert cache_seconds(cache_control, CACHE_SECONDS) == seconds


def test_only_asymmetric_public_signing_keys_are_taken_from_the_set() -> None:
    # given a set with one good key of each kind and many that must be skipped
    good_ec, good_rsa = ec_key(), rsa_key()
    private_ec = ec_key()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # the point of this key
        short_rsa = rsa_key(1024)
    document = {
        "keys": [
            public_jwk(good_ec),
            public_jwk(good_rsa),
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"},
            {**private_ec.as_dict(private=True), "kid": "private"},
            {**public_jwk(ec_key()), "kid": "encryption", "use": "enc"},
            {**public_jwk(ec_key()), "kid": "no-verify", "key_ops": ["encrypt"]},
            {**public_jwk(ec_key()), "kid": "hs-alg", "alg": "HS256"},
            {**public_jwk(ec_key()), "kid": "rsa-alg-on-ec", "alg": "RS256"},
            {**public_jwk(short_rsa), "kid": "short-rsa"},
            {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
            "not-a-key",
        ]
    }

    # when
    keys = signing_keys(document)

    # then
    assert set(keys) == {good_ec.kid, good_rsa.kid}
    assert all(not key.is_private for key in keys.values())


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"oidc_jwks_url": None},
            "oidc_jwks_url must be set with oidc_issuer: the provider's JWKS URL.",
            id="no-jwks-url",
        ),
        pytest.param(
            {"oidc_jwks_url": "http://id.example.org/certs"},
            "oidc_jwks_url must be an https:// URL, not 'http://id.example.org/certs'.",
            id="plain-http",
        ),
        pytest.param(
            {"oidc_role_map": {}},
            'oidc_role_map is empty: map the provider\'s role names, e.g. {"w4r-is-admin": '
            '"is-admin"}.',
            id="empty-role-map",
        ),
        pytest.param(
            {"oidc_role_map": {"boss": "superuser", "guest": "anonymous"}},
            "oidc_role_map maps to unknown roles ['anonymous', 'superuser']; use one of "
            "['event-host', 'is-admin', 'is-analyst', 'partner-app', 'section-admin', "
            "'section-editor'].",
            id="unknown-roles",
        ),
        pytest.param(
            {"oidc_issuer": "w4r-local"},
            "oidc_issuer must differ from token_issuer (the local key's issuer).",
            id="issuer-of-the-local-key",
        ),
    ],
)
def test_a_wrong_provider_configuration_is_refused_at_start(
    idp: IdentityProvider, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=r".*") as refused:
        token_verifier(provider_settings(idp, **overrides), FIRST_KEY)
    assert str(refused.value) == message


async def test_the_app_verifier_trusts_the_local_key_and_the_provider(
    idp: IdentityProvider, token_for: Callable[..., str], signing_key_json: str
) -> None:
    # given the app's verifier with the deployment's local key and the provider
    from w4r.platform.auth import parse_signing_key

    verifier = token_verifier(provider_settings(idp), parse_signing_key(signing_key_json))
    try:
        # when / then both kinds of token are accepted
        local = await verifier.verify(token_for(Role.IS_ANALYST))
        provider = await verifier.verify(sign(provider_claims(), FIRST_KEY))
    finally:
        await verifier.aclose()
    assert (local.role, provider.role) == (Role.IS_ANALYST, Role.SECTION_ADMIN)


# --- through the app -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.publish(FIRST_KEY)
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
async def oidc_client(
    settings: Settings, database_target: DatabaseTarget, app_idp: IdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    async with provider_app(settings, database_target, app_idp) as http:
        yield http


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str,
    section: str | None = None,
) -> httpx.Response:
    path = "/graphql" if section is None else f"/s/{section}/graphql"
    return await http.post(
        path,
        json={"query": query, "variables": variables or {}},
        headers={
            "accept": "application/graphql-response+json",
            "authorization": f"Bearer {token}",
        },
    )


async def test_a_provider_section_admin_may_rename_its_section(
    oidc_client: httpx.AsyncClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    graphql: GraphQLClient,
) -> None:
    # given a section and its admin's access token from the provider
    code = (await new_section(name="Before"))["code"]
    token = sign(provider_claims(w4r_section=code), FIRST_KEY)

    # when the admin renames the section
    response = await post(
        oidc_client,
        SECTION_UPDATE,
        {"input": {"code": code, "name": "After"}},
        token=token,
        section=code,
    )

    # then
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "sectionUpdate": {"section": {"code": code, "name": "After"}, "errors": []}
    }
    data = await graphql.data(SECTION_NAME, role=Role.IS_ADMIN, section=code)
    assert data == {"section": {"code": code, "name": "After"}}


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        (["w4r-section-editor"], "SECTION_EDITOR"),
        (["w4r-event-host", "w4r-section-admin"], "SECTION_ADMIN"),
    ],
)
async def test_the_viewer_has_the_mapped_role_and_the_section_claim(
    oidc_client: httpx.AsyncClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    roles: list[str],
    role: str,
) -> None:
    # given
    code = (await new_section())["code"]
    claims = provider_claims(w4r_section=code, realm_access={"roles": roles})

    # when
    response = await post(oidc_client, VIEWER, token=sign(claims, FIRST_KEY), section=code)

    # then
    assert response.status_code == 200
    assert "errors" not in response.json()
    assert response.json()["data"] == {
        "viewer": {"role": role, "subject": claims["sub"], "sectionCode": code}
    }


async def test_a_provider_editor_may_not_rename_its_section(
    oidc_client: httpx.AsyncClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    graphql: GraphQLClient,
) -> None:
    # given an editor (not an admin) of the section
    code = (await new_section(name="Unchanged"))["code"]
    claims = provider_claims(w4r_section=code, realm_access={"roles": ["w4r-section-editor"]})

    # when
    response = await post(
        oidc_client,
        SECTION_UPDATE,
        {"input": {"code": code, "name": "Changed"}},
        token=sign(claims, FIRST_KEY),
        section=code,
    )

    # then
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == ["FORBIDDEN"]
    data = await graphql.data(SECTION_NAME, role=Role.IS_ADMIN, section=code)
    assert data == {"section": {"code": code, "name": "Unchanged"}}


async def test_a_provider_admin_of_one_section_is_refused_at_another(
    oidc_client: httpx.AsyncClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    graphql: GraphQLClient,
) -> None:
    # given two sections, and a provider token for the first one's admin
    own = (await new_section())["code"]
    other = (await new_section(name="Unchanged"))["code"]
    token = sign(provider_claims(w4r_section=own), FIRST_KEY)

    # when the admin renames the other one through its endpoint
    response = await post(
        oidc_client,
        SECTION_UPDATE,
        {"input": {"code": other, "name": "Changed"}},
        token=token,
        section=other,
    )

    # then
    assert response.status_code == 403
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [
        "SECTION_FORBIDDEN"
    ]
    data = await graphql.data(SECTION_NAME, role=Role.IS_ADMIN, section=other)
    assert data == {"section": {"code": other, "name": "Unchanged"}}


async def test_a_refused_provider_token_is_401_invalid_token(
    oidc_client: httpx.AsyncClient,
) -> None:
    # given an expired provider token
    token = sign(provider_claims(exp=1_700_000_000, iat=1_699_999_000, nbf=None), FIRST_KEY)

    # when
    response = await post(oidc_client, VIEWER, token=token)

    # then
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "errors": [
            {"message": REFUSED + "The token is expired", "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }
