"""Normalising an email and its keyed hash; the hash key's file; token hashes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from w4r.app import MissingSupporterHashKeyError, supporter_hash_key
from w4r.settings import Settings
from w4r.supporters.emails import (
    EmailHasher,
    InvalidEmailError,
    load_or_create_hash_key,
    new_token,
    parse_email,
    parse_hash_key,
    token_hash,
)

KEY = bytes(range(32))


@pytest.mark.parametrize(
    "spelling",
    [
        "ada@example.org",
        "  Ada@Example.ORG\t",
        "ADA@EXAMPLE.ORG",
        "\uff41\uff44\uff41@example.org",  # full-width letters
    ],
)
def test_spellings_of_one_address_have_one_canonical_form_and_hash(spelling: str) -> None:
    email = parse_email(spelling)

    assert email.canonical == "ada@example.org"
    assert EmailHasher(KEY).hash(email) == EmailHasher(KEY).hash(parse_email("ada@example.org"))


def test_composed_and_decomposed_accents_and_punycode_domains_are_one_address() -> None:
    composed = parse_email("zo\u00e9@b\u00fccher.example")
    decomposed = parse_email("zoe\u0301@bu\u0308cher.example")
    punycode = parse_email("ZO\u00c9@xn--bcher-kva.example")

    assert composed.canonical == decomposed.canonical == punycode.canonical
    assert composed.canonical == "zo\u00e9@xn--bcher-kva.example"
    assert composed.address == "zo\u00e9@b\u00fccher.example"


def test_different_addresses_and_different_keys_give_different_hashes() -> None:
    ada, grace = parse_email("ada@example.org"), parse_email("grace@example.org")
    hasher, other = EmailHasher(KEY), EmailHasher(bytes(reversed(KEY)))

    assert hasher.hash(ada) != hasher.hash(grace)
    assert hasher.hash(ada) != other.hash(ada)
    assert len(hasher.hash(ada)) == 64


@pytest.mark.parametrize("value", ["", "ada", "ada@", "@example.org", "ada@@example.org"])
def test_text_that_is_no_address_is_refused(value: str) -> None:
    with pytest.raises(InvalidEmailError):
        parse_email(value)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        EmailHasher(b"short")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        parse_hash_key("abcd")


def test_a_hex_key_is_read_as_bytes_and_other_text_as_its_bytes() -> None:
    assert parse_hash_key(KEY.hex()) == KEY
    assert parse_hash_key("  a passphrase of some length  ") == b"a passphrase of some length"


def test_the_development_key_is_created_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "supporter-hash.key"

    first = load_or_create_hash_key(path)
    second = load_or_create_hash_key(path)

    assert first == second
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_token_is_stored_as_its_sha256_only() -> None:
    token, stored = new_token()

    assert stored == token_hash(token) == token_hash(f"  {token}\n")
    assert token not in stored
    assert len(stored) == 64


def test_production_needs_the_key_and_development_creates_one(tmp_path: Path) -> None:
    production = Settings(_env_file=None, environment="production", data_dir=tmp_path)
    configured = Settings(
        _env_file=None, environment="production", supporter_hash_key=KEY.hex(), data_dir=tmp_path
    )
    development = Settings(_env_file=None, environment="development", data_dir=tmp_path)

    with pytest.raises(MissingSupporterHashKeyError, match="W4R_SUPPORTER_HASH_KEY is required"):
        supporter_hash_key(production)
    assert supporter_hash_key(configured) == KEY
    created = supporter_hash_key(development)
    assert created == supporter_hash_key(development)
    assert development.supporter_hash_key_path == tmp_path / "supporter-hash.key"
