"""The key format: what the server refuses before it ever looks a key up."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from w4r.apikeys import keys
from w4r.apikeys.service import ApiKeyAuthenticator
from w4r.platform.auth import TokenError
from w4r.platform.database import Database

# One key for the property tests: the checksum must catch a change of any one character.
SAMPLE = keys.generate()


class NoDatabase:
    """A database that fails the test if the authenticator asks it anything."""

    def session(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the key was looked up in the database")


def authenticator_without_database() -> ApiKeyAuthenticator:
    return ApiKeyAuthenticator(cast("Database", NoDatabase()), cache_seconds=5)


def test_a_generated_key_has_the_prefix_the_length_and_a_valid_checksum() -> None:
    # when a key is generated
    key = keys.generate()

    # then it is w4r_ + 43 base62 characters + a 6-character checksum of the rest
    assert key.startswith("w4r_")
    assert len(key) == keys.KEY_LENGTH == 53
    assert set(key[4:]) <= set(keys.ALPHABET)
    assert key[-6:] == keys.checksum(key[:-6])
    assert keys.is_well_formed(key)
    # and its display prefix shows 8 characters of the secret
    assert keys.display_prefix(key) == key[:12]


def test_generated_keys_differ() -> None:
    assert len({keys.generate() for _ in range(1000)}) == 1000


def test_base62_is_fixed_width_and_refuses_numbers_that_do_not_fit() -> None:
    assert keys.base62(0, 3) == "000"
    assert keys.base62(61, 2) == "0z"
    assert keys.base62(62, 2) == "10"
    with pytest.raises(ValueError, match="does not fit"):
        keys.base62(62**2, 2)


def test_the_hash_is_the_sha256_of_the_whole_key() -> None:
    # a known SHA-256 test vector: stored hashes must never change meaning
    assert (
        keys.key_hash("w4r_x").hex()
        == "580b1a2f5995b899cdf8de0b14f91db3bfc5fbf9a46a8937e6cf69379026c387"
    )


@given(
    position=st.integers(min_value=0, max_value=keys.KEY_LENGTH - 1),
    replacement=st.characters(min_codepoint=33, max_codepoint=126),
)
def test_any_single_character_change_is_refused(position: int, replacement: str) -> None:
    # given a valid key with one character replaced by another printable character
    if SAMPLE[position] == replacement:
        replacement = "A" if SAMPLE[position] != "A" else "B"
    changed = SAMPLE[:position] + replacement + SAMPLE[position + 1 :]

    # then the format check refuses it
    assert not keys.is_well_formed(changed)


@given(length=st.integers(min_value=0, max_value=keys.KEY_LENGTH - 1))
def test_a_truncated_key_is_refused(length: int) -> None:
    assert not keys.is_well_formed(SAMPLE[:length])


@given(extra=st.text(alphabet=keys.ALPHABET, min_size=1, max_size=10))
def test_a_key_with_extra_characters_is_refused(extra: str) -> None:
    assert not keys.is_well_formed(SAMPLE + extra)


def test_a_body_no_32_byte_secret_encodes_to_is_refused_even_with_a_valid_checksum() -> None:
    body = "z" * keys.BODY_LENGTH  # 62**43 - 1 > 2**256
    forged = keys.PREFIX + body + keys.checksum(keys.PREFIX + body)
    assert not keys.is_well_formed(forged)


@given(
    position=st.integers(min_value=0, max_value=keys.KEY_LENGTH - 1),
    replacement=st.sampled_from(keys.ALPHABET),
)
async def test_the_authenticator_refuses_a_mistyped_key_before_any_lookup(
    position: int, replacement: str
) -> None:
    # given an authenticator whose database fails the test when asked anything
    authenticator = authenticator_without_database()
    if SAMPLE[position] == replacement:
        replacement = "A" if SAMPLE[position] != "A" else "B"
    mistyped = SAMPLE[:position] + replacement + SAMPLE[position + 1 :]

    # when the mistyped key is presented, then it is refused as malformed
    with pytest.raises(TokenError, match="malformed"):
        await authenticator.authenticate(mistyped)


@pytest.mark.parametrize("credential", ["w4r_", "w4r_short", "w4r_" + "0" * 49 + "!"])
async def test_the_authenticator_refuses_a_truncated_or_garbled_key_before_any_lookup(
    credential: str,
) -> None:
    with pytest.raises(TokenError, match="malformed"):
        await authenticator_without_database().authenticate(credential)


def test_a_jwt_is_not_taken_for_an_api_key() -> None:
    assert keys.looks_like_api_key(SAMPLE)
    assert not keys.looks_like_api_key("eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
