"""Bearer tokens: what is accepted, what is refused and why, and refusals over HTTP."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, Key, KeySet, OctKey, import_key

from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from w4r.platform import auth as auth_module
from w4r.platform.auth import (
    Principal,
    Role,
    StaticKeys,
    TokenError,
    TokenIssuer,
    TokenVerifier,
    TrustedIssuer,
    bearer_token,
    generate_signing_key,
    local_issuer,
    principal_from_claims,
    public_key_set,
)

ISSUER = "w4r-test-issuer"
AUDIENCE = "w4r-test-audience"
LEEWAY_SECONDS = 30
KEY = generate_signing_key()
OTHER_KEY = generate_signing_key()
REFUSED = "The bearer token was refused: "
BAD_SIGNATURE = REFUSED + "its signature does not verify with any trusted key."

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
VIEWER = "{ viewer { role subject sectionCode } }"
SECTIONS = "{ sections(first: 10) { edges { node { code } } } }"
SECTION_NAME = "{ section { code name } }"
SECTION_UPDATE = """
mutation ($input: SectionUpdateInput!) {
  sectionUpdate(input: $input) { section { name } errors { code } }
}
"""


def verifier() -> TokenVerifier:
    return TokenVerifier(
        [local_issuer(public_key_set(KEY), issuer=ISSUER, audience=AUDIENCE)],
        leeway_seconds=LEEWAY_SECONDS,
    )


def issuer(key: ECKey = KEY, *, iss: str = ISSUER, aud: str = AUDIENCE) -> TokenIssuer:
    return TokenIssuer(key, issuer=iss, audience=aud)


def now() -> int:
    return int(time.time())


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid IS admin claims; an override of None removes the claim."""
    moment = now()
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "tester",
        "iat": moment,
        "nbf": moment,
        "exp": moment + 600,
        "w4r_role": "is-admin",
        **overrides,
    }
    return {name: value for name, value in values.items() if value is not None}


def signed(values: dict[str, Any], key: ECKey = KEY, *, kid: str | None = None) -> str:
    header = {"alg": "ES256", "kid": kid or key.kid}
    return jwt.encode(header, values, key, algorithms=["ES256"])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


async def refusal(token: str) -> str:
    with pytest.raises(TokenError) as refused:
        await verifier().verify(token)
    return str(refused.value)


# --- accepted tokens ---------------------------------------------------------------------


async def test_a_valid_token_gives_its_principal() -> None:
    # given
    token = issuer().issue(Role.SECTION_ADMIN, section_code="gb", subject="alice@example.org")

    # when
    principal = await verifier().verify(token)

    # then
    assert principal == Principal(
        role=Role.SECTION_ADMIN,
        subject="alice@example.org",
        section_code="gb",
        token_id=principal.token_id,
    )
    assert isinstance(principal.token_id, str)
    assert len(principal.token_id) == 22
    assert principal.is_section_staff
    assert not principal.is_international_secretariat


async def test_an_issued_token_without_subject_names_the_role() -> None:
    # when
    principal = await verifier().verify(issuer().issue(Role.IS_ANALYST))

    # then
    assert (principal.role, principal.subject, principal.section_code) == (
        Role.IS_ANALYST,
        "local:is-analyst",
        None,
    )
    assert principal.is_international_secretariat


async def test_two_issued_tokens_have_distinct_ids() -> None:
    # when
    first = await verifier().verify(issuer().issue(Role.IS_ADMIN))
    second = await verifier().verify(issuer().issue(Role.IS_ADMIN))

    # then
    assert first.token_id != second.token_id


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": -(LEEWAY_SECONDS // 2)},
        {"nbf": LEEWAY_SECONDS // 2},
    ],
    ids=["expired-within-leeway", "not-before-within-leeway"],
)
async def test_clock_skew_within_the_leeway_is_tolerated(overrides: dict[str, int]) -> None:
    # given a token whose time claims are off by half the leeway
    moment = now()
    token = signed(claims(**{name: moment + offset for name, offset in overrides.items()}))

    # when
    principal = await verifier().verify(token)

    # then
    assert principal.role is Role.IS_ADMIN


async def test_a_token_without_a_key_id_is_verified_against_the_key_set() -> None:
    # given
    header = {"alg": "ES256"}
    token = jwt.encode(header, claims(), KEY, algorithms=["ES256"])

    # when
    principal = await verifier().verify(token)

    # then
    assert principal == Principal(role=Role.IS_ADMIN, subject="tester")


# --- refused tokens ----------------------------------------------------------------------


async def test_an_expired_token_is_refused() -> None:
    # given a one-hour token issued two hours ago
    token = issuer().issue(Role.IS_ADMIN, ttl_seconds=3600, now=now() - 7200)

    # when / then
    assert await refusal(token) == REFUSED + "The token is expired"


async def test_a_token_expired_beyond_the_leeway_is_refused() -> None:
    # given
    token = signed(claims(exp=now() - 2 * LEEWAY_SECONDS))

    # when / then
    assert await refusal(token) == REFUSED + "The token is expired"


async def test_a_token_not_yet_valid_is_refused() -> None:
    # given a token valid from an hour from now
    token = signed(claims(nbf=now() + 3600, exp=now() + 7200))

    # when / then
    assert await refusal(token) == REFUSED + "The token is not yet valid"


async def test_a_token_issued_in_the_future_is_refused() -> None:
    # given
    token = issuer().issue(Role.IS_ADMIN, now=now() + 3600)

    # when / then
    assert await refusal(token) == REFUSED + "The token was issued in the future"


async def test_a_token_for_another_issuer_is_refused() -> None:
    # given
    token = issuer(iss="someone-else").issue(Role.IS_ADMIN)

    # when / then
    assert await refusal(token) == REFUSED + "Invalid claim: 'iss'"


async def test_a_token_for_another_audience_is_refused() -> None:
    # given
    token = issuer(aud="another-api").issue(Role.IS_ADMIN)

    # when / then
    assert await refusal(token) == REFUSED + "Invalid claim: 'aud'"


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "sub", "iat"])
async def test_a_token_missing_an_essential_claim_is_refused(claim: str) -> None:
    # given
    token = signed(claims(**{claim: None}))

    # when / then
    assert await refusal(token) == REFUSED + f"Missing claim: {claim!r}"


async def test_a_token_signed_by_an_unknown_key_is_refused() -> None:
    # given a token signed by another key, with that key's id
    token = issuer(OTHER_KEY).issue(Role.IS_ADMIN)

    # when / then
    assert await refusal(token) == REFUSED + f"No key for kid: {OTHER_KEY.kid!r}"


async def test_a_token_signed_by_another_key_under_our_key_id_is_refused() -> None:
    # given a forged token naming the trusted key's id
    token = signed(claims(), OTHER_KEY, kid=KEY.kid)

    # when / then
    assert await refusal(token) == BAD_SIGNATURE


async def test_a_tampered_token_is_refused() -> None:
    # given a valid analyst token whose payload is swapped for an admin's
    header, _, signature = signed(claims(w4r_role="is-analyst")).split(".")
    payload = b64url(json.dumps(claims(w4r_role="is-admin")).encode())

    # when / then
    assert await refusal(f"{header}.{payload}.{signature}") == BAD_SIGNATURE


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(signed(claims(), OTHER_KEY, kid=KEY.kid), id="bad-signature"),
        pytest.param(
            jws.serialize_compact(
                {"alg": "ES256", "kid": KEY.kid}, b"[1, 2]", KEY, algorithms=["ES256"]
            ),
            id="signed-payload-not-an-object",
        ),
    ],
)
async def test_a_refusal_always_says_why(token: str) -> None:
    # when
    message = await refusal(token)

    # then the message names a reason after its prefix (TokenError messages are for callers)
    assert message.startswith(REFUSED)
    assert message.removeprefix(REFUSED).strip() != ""


async def test_an_hs256_token_is_refused() -> None:
    # given a token signed with a shared secret, naming the trusted key's id
    secret = OctKey.generate_key(256)
    token = jwt.encode({"alg": "HS256", "kid": KEY.kid}, claims(), secret, algorithms=["HS256"])

    # when / then
    assert await refusal(token) == REFUSED + "Algorithm of 'HS256' is not allowed"


@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"])
async def test_an_unsigned_alg_none_token_is_refused(signature: str) -> None:
    # given
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims()).encode())

    # when / then
    assert (
        await refusal(f"{header}.{payload}.{signature}")
        == REFUSED + "Algorithm of 'none' is not allowed"
    )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", REFUSED + "Invalid JSON Web Signature"),
        ("not-a-jwt", REFUSED + "Invalid JSON Web Signature"),
        ("a.b", REFUSED + "Invalid JSON Web Signature"),
        ("...", REFUSED + "Invalid JSON Web Signature"),
        ("a.b.c", REFUSED + "Invalid header"),
        (b64url(b"[1]") + ".e30.c2ln", REFUSED + "Missing 'alg' value in header"),
        (b64url(b'{"alg": 5}') + ".e30.c2ln", REFUSED + "'alg' in header must be a str"),
        ("a" * 9000, "The bearer token is too long."),
    ],
    ids=[
        "empty",
        "one-part",
        "two-parts",
        "empty-parts",
        "bad-base64",
        "header-list",
        "alg-int",
        "too-long",
    ],
)
async def test_a_malformed_token_is_refused(token: str, message: str) -> None:
    assert await refusal(token) == message


# --- roles and sections ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "section", "message"),
    [
        (Role.SECTION_ADMIN, None, "A section-admin token must name its section."),
        (Role.SECTION_EDITOR, None, "A section-editor token must name its section."),
        (Role.IS_ADMIN, "gb", "An is-admin token is global and must not name a section."),
        (Role.IS_ANALYST, "gb", "An is-analyst token is global and must not name a section."),
        (Role.ANONYMOUS, None, "Tokens are not issued to anonymous callers."),
    ],
)
def test_a_token_is_not_issued_for_a_wrong_role_binding(
    role: Role, section: str | None, message: str
) -> None:
    with pytest.raises(TokenError) as refused:
        issuer().issue(role, section_code=section)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"w4r_role": "superuser"}, "The token's 'w4r_role' claim is not a known role."),
        ({"w4r_role": None}, "The token's 'w4r_role' claim is not a known role."),
        ({"w4r_role": ["is-admin"]}, "The token's 'w4r_role' claim is not a known role."),
        ({"w4r_role": "IS-ADMIN"}, "The token's 'w4r_role' claim is not a known role."),
        ({"w4r_role": "anonymous"}, "Tokens are not issued to anonymous callers."),
        ({"w4r_role": "section-admin"}, "A section-admin token must name its section."),
        (
            {"w4r_role": "section-editor", "w4r_section": 7},
            "The token's 'w4r_section' claim must be a section code.",
        ),
        ({"w4r_section": "gb"}, "An is-admin token is global and must not name a section."),
    ],
)
async def test_a_signed_token_with_wrong_role_claims_is_refused(
    overrides: dict[str, Any], message: str
) -> None:
    # given a correctly signed token whose role claims break the binding rules
    token = signed(claims(**overrides))

    # when / then
    assert await refusal(token) == message


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer  abc ", "abc"),
        ("  BEARER abc", "abc"),
    ],
)
def test_the_bearer_token_is_read_from_the_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "abc"])
def test_a_header_that_is_not_a_bearer_token_is_refused(header: str) -> None:
    with pytest.raises(TokenError) as refused:
        bearer_token(header)
    assert str(refused.value) == "Send credentials as 'Authorization: Bearer <token>'."


# --- over HTTP ---------------------------------------------------------------------------


SEND_BEARER = "Send credentials as 'Authorization: Bearer <token>'."


@pytest.mark.parametrize(
    ("authorization", "status", "challenge", "message"),
    [
        # RFC 6750: a malformed credential is invalid_request (400), a bad token
        # invalid_token (401)
        ("Basic dXNlcjpwYXNz", 400, 'Bearer error="invalid_request"', SEND_BEARER),
        ("Bearer", 400, 'Bearer error="invalid_request"', SEND_BEARER),
        ("Token abc", 400, 'Bearer error="invalid_request"', SEND_BEARER),
        (
            "Bearer not-a-jwt",
            401,
            'Bearer error="invalid_token"',
            REFUSED + "Invalid JSON Web Signature",
        ),
    ],
)
async def test_a_malformed_authorization_header_is_refused(
    graphql: GraphQLClient, authorization: str, status: int, challenge: str, message: str
) -> None:
    # when
    response = await graphql.post(VIEWER, headers={"authorization": authorization})

    # then it is never downgraded to anonymous
    assert response.status_code == status
    assert response.headers["www-authenticate"] == challenge
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


async def test_an_expired_token_is_401_and_writes_nothing(
    graphql: GraphQLClient, token_for: Callable[..., str]
) -> None:
    # given an IS admin token that expired an hour ago
    token = token_for(Role.IS_ADMIN, ttl_seconds=3600, now=now() - 7200)
    code = unique_code()

    # when it is used to create a section
    response = await graphql.post(
        SECTION_CREATE,
        {"input": section_input(code)},
        headers={"authorization": f"Bearer {token}"},
    )

    # then
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "errors": [
            {
                "message": REFUSED + "The token is expired",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
    assert code not in await graphql.section_codes()


async def test_a_token_signed_by_another_key_is_401(graphql: GraphQLClient) -> None:
    # given a token for the right issuer and audience, signed by a key the server does not trust
    token = TokenIssuer(OTHER_KEY, issuer="w4r-local", audience="w4r").issue(Role.IS_ADMIN)

    # when
    response = await graphql.post(VIEWER, headers={"authorization": f"Bearer {token}"})

    # then
    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {
                "message": REFUSED + f"No key for kid: {OTHER_KEY.kid!r}",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }


async def test_a_valid_is_admin_token_is_the_viewer(graphql: GraphQLClient) -> None:
    # when
    data = await graphql.data(VIEWER, role=Role.IS_ADMIN)

    # then
    assert data == {
        "viewer": {"role": "IS_ADMIN", "subject": "local:is-admin", "sectionCode": None}
    }


async def test_a_section_admin_token_is_the_viewer_in_its_section(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # given
    code = (await new_section())["code"]

    # when
    data = await graphql.data(VIEWER, role=Role.SECTION_ADMIN, token_section=code, section=code)

    # then
    assert data == {
        "viewer": {"role": "SECTION_ADMIN", "subject": "local:section-admin", "sectionCode": code}
    }


async def test_an_anonymous_caller_may_not_list_sections(graphql: GraphQLClient) -> None:
    # when
    response = await graphql.post(SECTIONS)

    # then the refusal is a top-level error of the field
    assert response.status_code == 200
    body = response.json()  # its other extensions (the query's cost) are not this test's
    assert (body["data"], body["errors"]) == (
        None,
        [
            {
                "message": "This needs one of the roles: is-admin, is-analyst.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["sections"],
                "extensions": {"code": "FORBIDDEN"},
            }
        ],
    )


@pytest.mark.parametrize(
    "role",
    [Role.ANONYMOUS, Role.PARTNER_APP, Role.IS_ANALYST, Role.SECTION_EDITOR, Role.SECTION_ADMIN],
)
async def test_only_is_admins_may_create_sections(
    graphql: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    role: Role,
) -> None:
    # given a caller of the role (section staff at their own section)
    own = (
        (await new_section())["code"] if role in {Role.SECTION_EDITOR, Role.SECTION_ADMIN} else None
    )
    code = unique_code()

    # when it tries to create a section
    response = await graphql.post(
        SECTION_CREATE,
        {"input": section_input(code)},
        role=None if role is Role.ANONYMOUS else role,
        token_section=own,
        section=own,
    )

    # then it is refused and nothing is written
    assert response.status_code == 200
    body = response.json()  # its other extensions (the query's cost) are not this test's
    assert (body["data"], body["errors"]) == (
        None,
        [
            {
                "message": "This needs one of the roles: is-admin.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["sectionCreate"],
                "extensions": {"code": "FORBIDDEN"},
            }
        ],
    )
    assert code not in await graphql.section_codes()


async def test_a_section_editor_may_not_change_its_section(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # given a section and one of its editors
    code = (await new_section(name="Unchanged"))["code"]

    # when the editor renames it
    response = await graphql.post(
        SECTION_UPDATE,
        {"input": {"code": code, "name": "Changed"}},
        role=Role.SECTION_EDITOR,
        token_section=code,
        section=code,
    )

    # then
    payload = response.json()
    assert response.status_code == 200
    assert payload["data"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in payload["errors"]] == [
        (["sectionUpdate"], "FORBIDDEN")
    ]
    data = await graphql.data(SECTION_NAME, role=Role.IS_ADMIN, section=code)
    assert data == {"section": {"code": code, "name": "Unchanged"}}


async def test_a_section_admin_token_is_refused_for_another_section(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # given two sections, and an admin of the first
    own = (await new_section())["code"]
    other = (await new_section(name="Unchanged"))["code"]

    # when the admin renames the second through its endpoint
    response = await graphql.post(
        SECTION_UPDATE,
        {"input": {"code": other, "name": "Changed"}},
        role=Role.SECTION_ADMIN,
        token_section=own,
        section=other,
    )

    # then it is refused before execution and nothing changed
    assert response.status_code == 403
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [
        "SECTION_FORBIDDEN"
    ]
    data = await graphql.data(SECTION_NAME, role=Role.IS_ADMIN, section=other)
    assert data == {"section": {"code": other, "name": "Unchanged"}}


async def test_no_authorization_header_is_the_anonymous_caller(graphql: GraphQLClient) -> None:
    # when
    data = await graphql.data(VIEWER)

    # then
    assert data == {"viewer": {"role": "ANONYMOUS", "subject": None, "sectionCode": None}}


# --- remembering accepted tokens -------------------------------------------------------------


async def test_a_token_sent_again_is_not_verified_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a verifier that counts signature checks, and a token it accepted once
    checks: list[str] = []
    real_check = auth_module._check_signature

    def counted(compact: Any, key: Any) -> None:
        checks.append("checked")
        real_check(compact, key)

    monkeypatch.setattr(auth_module, "_check_signature", counted)
    accepting = verifier()
    token = issuer().issue(Role.IS_ADMIN, ttl_seconds=60)
    first = await accepting.verify(token)

    # when the same token comes again, then a tampered copy of it
    again = await accepting.verify(token)
    head, payload, signature = token.split(".")
    tampered = ".".join(
        [head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")]
    )
    with pytest.raises(TokenError):
        await accepting.verify(tampered)

    # then the signature was checked for the first and the tampered token only
    assert again == first
    assert checks == ["checked", "checked"]


async def test_a_remembered_token_is_still_refused_once_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a token accepted while valid
    accepting = verifier()
    issued_at = now()
    token = issuer().issue(Role.IS_ADMIN, ttl_seconds=60, now=issued_at)
    await accepting.verify(token)

    # when the clock passes its expiry (beyond the leeway)
    monkeypatch.setattr(time, "time", lambda: issued_at + 60 + 2 * LEEWAY_SECONDS)

    # then the same bytes are refused: their expiry is checked on every request
    with pytest.raises(TokenError, match="expired"):
        await accepting.verify(token)


class MutableKeys:
    """A key source that a test rotates, as a provider's JWKS rotates."""

    def __init__(self, keys: KeySet) -> None:
        self.source = StaticKeys(keys)

    def replace(self, keys: KeySet) -> None:
        self.source = StaticKeys(keys)

    async def key_for(self, kid: str | None) -> Key | None:
        return await self.source.key_for(kid)

    async def aclose(self) -> None:
        """Nothing to release."""


async def test_a_remembered_token_is_refused_once_its_key_leaves_the_key_set() -> None:
    # given a token accepted under a key set holding its key
    keys = MutableKeys(public_key_set(KEY))
    accepting = TokenVerifier(
        [
            TrustedIssuer(
                issuer=ISSUER, audience=AUDIENCE, keys=keys, read_principal=principal_from_claims
            )
        ],
        leeway_seconds=LEEWAY_SECONDS,
    )
    token = issuer().issue(Role.IS_ADMIN, ttl_seconds=60)
    await accepting.verify(token)

    # when the key is rotated out (another key under the same id, as a provider's JWKS may)
    other = generate_signing_key().as_dict(private=False)
    other["kid"] = str(KEY.kid)
    replacement = import_key(other, "EC")
    keys.replace(KeySet([replacement]))

    # then the token is verified again against the new set, and refused
    with pytest.raises(TokenError):
        await accepting.verify(token)


async def test_the_memory_of_verified_tokens_is_bounded() -> None:
    small = TokenVerifier(
        [local_issuer(public_key_set(KEY), issuer=ISSUER, audience=AUDIENCE)],
        leeway_seconds=LEEWAY_SECONDS,
        remembered_tokens=3,
    )
    for _ in range(10):
        await small.verify(issuer().issue(Role.IS_ADMIN, ttl_seconds=60))
    assert len(small._accepted) == 3
