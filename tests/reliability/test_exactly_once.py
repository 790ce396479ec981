"""Exactly once under crashes: bench/chaos.py at CI size, and its verification's teeth.

The run: 10 clients x 100 anonymous actions through two app processes, one of them killed
with SIGKILL and started again, and PostgreSQL crashed (``pg_ctl -m immediate``) and
started again, during the load; then every acknowledgement is checked against the database.
In the embedded pass it crashes an embedded PostgreSQL of its own; with
``W4R_TEST_DATABASE_URL`` set it crashes a private cluster of the machine's PostgreSQL
binaries, never the server that variable names (other tests use it). Without binaries the
test is skipped (failed under ``W4R_REQUIRE_INTEROP=1``).

The second test hands the verification a history and database rows with one fault each and
checks it names every one: a check that cannot fail would prove nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_DATABASE_URL_VARIABLE
from tests.tools import missing

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
sys.path.append(str(BENCH))  # the benchmarks import each other by their plain names

import chaos  # noqa: E402

CLIENTS, ACTIONS = 10, 100


def test_crashes_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    # given the embedded server, or the machine's binaries in the external pass
    database = "cluster" if os.environ.get(TEST_DATABASE_URL_VARIABLE) else "embedded"
    if database == "cluster" and chaos.machine_bindir() is None:
        missing("PostgreSQL's server binaries", "apt-get install postgresql")
    output = tmp_path / "chaos.json"
    command = [sys.executable, str(BENCH / "chaos.py"), "--database", database]
    command += ["--clients", str(CLIENTS), "--actions", str(ACTIONS)]
    command += ["--kills", "1", "--restarts", "1", "--deadline", "60", "--output", str(output)]

    # when the clients record their actions while a worker and PostgreSQL crash
    finished = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)

    # then nothing acknowledged was lost, nothing was counted twice, rollups match the ledger
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads(output.read_text(encoding="utf-8"))
    assert result["anomalies"] == []
    assert result["unhandled_server_errors"] == {}
    assert result["kills"] >= 1
    assert result["database_restarts"] >= 1
    assert result["actions"] == CLIENTS * ACTIONS
    assert result["ok"] + result["failed"] + result["unknown"] == CLIENTS * ACTIONS
    assert result["stored_keys"] == result["stored_actions"]
    assert result["stored_keys"] == result["ok"] + result["unknown_stored"]
    assert result["reconcile"]["drift"] == 0
    duplicates, changed = result["duplicates"], result["changed_payloads"]
    assert duplicates["sent"] > 0
    assert changed["sent"] > 0
    assert duplicates["replayed"] == duplicates["sent"] - duplicates["unknown"]
    assert changed["refused"] == changed["sent"] - changed["unknown"]


def answer(action_id: str | None, status: chaos.Status = "ok", **options: object) -> chaos.Answer:
    return chaos.Answer(status, action_id, **options)  # type: ignore[arg-type]


def test_the_verification_names_every_kind_of_anomaly() -> None:
    # given a history of one client and rows with one fault each
    case = "c0"
    client = "run-000"
    stored_client = chaos.ANONYMOUS_PREFIX + client

    def sent(number: int, result: chaos.Answer) -> chaos.Sent:
        return chaos.Sent(client, f"k{number}", case, "LETTER", result)

    def key(number: int, result_id: str) -> chaos.StoredKey:
        return chaos.StoredKey(stored_client, f"k{number}", "actionRecord", result_id)

    def action(action_id: str, **changes: object) -> chaos.StoredAction:
        values: dict[str, object] = {
            "id": action_id,
            "client_id": stored_client,
            "case_id": case,
            "action_type": "letter",
            "quantity": 1,
            "flag": None,
        }
        values.update(changes)
        return chaos.StoredAction(**values)  # type: ignore[arg-type]

    history = chaos.History(client_prefix="run-")
    history.sent = [
        sent(0, answer("a0")),  # fine
        sent(1, answer("a1")),  # acknowledged, missing
        sent(2, answer("a2")),  # acknowledged, stored under another id
        sent(3, answer(None, "failed", code="NOT_ALLOWED")),  # refused, yet stored
        sent(4, answer(None, "unknown", code="timeout")),  # unknown, stored once: fine
        sent(5, answer("a5")),  # stored with other content
        sent(6, answer("a6")),  # flagged
    ]
    history.resends = [
        chaos.Resend(client, "k0", "duplicate", "a0", answer("a0", replayed=False)),
        chaos.Resend(client, "k0", "changed", "a0", answer("a0x")),
        chaos.Resend(client, "k5", "changed", "a5", answer(None, "failed", code="INVALID")),
    ]
    stored = chaos.Stored(
        keys=[
            key(0, "a0"),
            key(2, "b2"),
            key(3, "a3"),
            key(4, "a4"),
            key(5, "a5"),
            key(6, "a6"),
            key(9, "a9"),  # a key nobody sent
            key(7, "a0"),  # a second key claiming a0 (and nobody sent k7)
        ],
        actions=[
            action("a0"),
            action("b2"),
            action("a3"),
            action("a4"),
            action("a5", action_type="email"),
            action("a6", flag="ip"),
            action("a9"),
            action("orphan"),  # in the ledger without a key
        ],
        other_actions=3,
    )

    # when it is verified
    verdict = chaos.verify(history, stored, other_actions_expected=0)

    # then each fault is named, and nothing else
    expected = [
        "stored key nobody sent: anonymous:run-000 k9",
        "stored key nobody sent: anonymous:run-000 k7",
        "action a0 claimed by 2 keys",
        "action orphan has no idempotency key",
        "of key k5 is not what was sent",
        "action a6 of key k6 is flagged (ip)",
        "acknowledged action a1 (k1) is missing",
        "key k2 acknowledged a2 but stores b2",
        "refused action (k3, NOT_ALLOWED) was stored",
        "resent k0 answered a0 (replayed=False), not a replay of a0",
        "changed payload under k0 accepted: a0x",
        "changed payload under k5 refused as INVALID",
        "3 actions of other clients, 0 expected",
    ]
    for fragment in expected:
        assert any(fragment in anomaly for anomaly in verdict.anomalies), fragment
    assert len(verdict.anomalies) == len(expected), verdict.anomalies
    assert verdict.figures["unknown_stored"] == 1
    assert verdict.figures["ok"] == 5
