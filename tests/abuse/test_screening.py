"""The screening rules without HTTP or a database: whose budget a write spends, in which
order, and which networks may be allowlisted."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from w4r.abuse.allowlist import parse_network
from w4r.abuse.documents import document_hash, parse_document_id
from w4r.abuse.models import WriteFlag
from w4r.abuse.screening import PublicWriteKind, WriteAllowances, client_identity, screen
from w4r.platform.errors import ProblemCode
from w4r.platform.ratelimit import Allowance, Budgets
from w4r.platform.validation import Problems

ALLOWANCES = WriteAllowances(
    per_address=Allowance(2, 3600),
    per_allowlisted_address=Allowance(4, 3600),
    per_section=Allowance(5, 3600),
)


async def never_allowlisted(_address: str) -> bool:
    return False


async def always_allowlisted(_address: str) -> bool:
    return True


async def flags(
    budgets: Budgets,
    section_id: uuid.UUID,
    hosts: list[str],
    is_allowlisted: object = never_allowlisted,
) -> list[WriteFlag | None]:
    results = []
    for host in hosts:
        results.append(
            await screen(
                budgets,
                PublicWriteKind.ACTION,
                section_id=section_id,
                host=host,
                allowances=ALLOWANCES,
                is_allowlisted=is_allowlisted,  # type: ignore[arg-type]
            )
        )
    return results


@pytest.mark.parametrize(
    ("host", "identity"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
        ("testclient", "unknown"),
    ],
)
def test_an_address_is_identified_by_itself_or_its_ipv6_64(host: str | None, identity: str) -> None:
    assert client_identity(host) == identity


async def test_an_address_over_its_allowance_does_not_spend_the_sections() -> None:
    # given a section's budgets
    budgets, section_id = Budgets.in_memory(), uuid.uuid4()

    # when one address writes 4 times, then two others twice each
    noisy = await flags(budgets, section_id, ["198.51.100.1"] * 4)
    others = await flags(budgets, section_id, ["198.51.100.2"] * 2 + ["198.51.100.3"] * 2)

    # then the noisy address is flagged after 2, and the section still took 2 + 3 writes
    assert noisy == [None, None, WriteFlag.RATE_LIMIT_IP, WriteFlag.RATE_LIMIT_IP]
    assert others == [None, None, None, WriteFlag.RATE_LIMIT_SECTION]


async def test_an_allowlisted_address_gets_the_raised_allowance_per_section() -> None:
    # given two sections that allowlist the address
    budgets = Budgets.in_memory()
    first, second = uuid.uuid4(), uuid.uuid4()

    # when it writes 5 times at each
    at_first = await flags(budgets, first, ["192.0.2.9"] * 5, always_allowlisted)
    at_second = await flags(budgets, second, ["192.0.2.9"] * 5, always_allowlisted)

    # then each section counts 4 of them
    expected = [None, None, None, None, WriteFlag.RATE_LIMIT_IP]
    assert (at_first, at_second) == (expected, expected)


@pytest.mark.parametrize(
    ("value", "expected", "code"),
    [
        ("203.0.113.0/24", "203.0.113.0/24", None),
        (" 203.0.113.7 ", "203.0.113.7/32", None),
        ("10.20.0.0/16", "10.20.0.0/16", None),
        ("2001:db8:1::/48", "2001:db8:1::/48", None),
        ("10.0.0.0/15", None, ProblemCode.NOT_ALLOWED),
        ("2001:db8::/47", None, ProblemCode.NOT_ALLOWED),
        ("203.0.113.7/24", None, ProblemCode.INVALID),
        ("school", None, ProblemCode.INVALID),
    ],
)
def test_only_narrow_well_formed_networks_may_be_allowlisted(
    value: str, expected: str | None, code: ProblemCode | None
) -> None:
    problems = Problems()
    network = parse_network(value, problems)
    assert (None if network is None else network.with_prefixlen) == expected
    assert [problem.code for problem in problems.items] == ([] if code is None else [code])


def test_document_ids_are_the_sha256_of_the_text() -> None:
    digest = document_hash("{ __typename }")
    assert digest == hashlib.sha256(b"{ __typename }").hexdigest()
    assert parse_document_id(f"sha256:{digest.upper()}") == digest
    assert parse_document_id(digest) == digest
    assert parse_document_id("sha256:xyz") is None
