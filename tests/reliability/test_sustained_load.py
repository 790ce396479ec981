"""bench/sustained.py at CI size: 10 seconds of open-loop load at low rates (10 anonymous
actions/s and 20 partner case-list reads/s), then the exactly-once verification of every
action it recorded. Speed is not judged here (the full run's figures are in
docs/reliability.md): the test keeps the load generator and its verification honest.

With ``W4R_TEST_DATABASE_URL`` set, the load runs on a fresh database of that server (the
load restarts nothing); else on an embedded PostgreSQL of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_DATABASE_URL_VARIABLE

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
SECONDS, ACTION_RATE, READ_RATE = 10, 10, 20


def test_a_short_load_records_every_action_exactly_once(tmp_path: Path) -> None:
    # given a server of two workers on the test server, or on an embedded one
    output = tmp_path / "sustained.json"
    command = [sys.executable, str(BENCH / "sustained.py"), "--world", "smoke"]
    command += ["--seconds", str(SECONDS), "--action-rate", str(ACTION_RATE)]
    command += ["--read-rate", str(READ_RATE), "--output", str(output)]
    server = os.environ.get(TEST_DATABASE_URL_VARIABLE)
    if server:
        command += ["--database-url", server]

    # when the generators send their requests at fixed rates
    finished = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)

    # then every request was sent and measured, and every action is stored exactly once
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads(output.read_text(encoding="utf-8"))
    assert result["anomalies"] == []
    assert result["actions"]["requests"] == SECONDS * ACTION_RATE
    assert result["reads"]["requests"] == SECONDS * READ_RATE
    for kind in ("actions", "reads"):
        figures = result[kind]
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
        assert figures["p99_ms"] <= figures["max_ms"]
    verification = result["verification"]
    assert verification["ok"] + verification["unknown"] == SECONDS * ACTION_RATE
    assert verification["failed"] == 0
    assert verification["stored_keys"] == verification["ok"] + verification["unknown_stored"]
    assert verification["stored_actions"] == verification["stored_keys"]
    assert result["reconcile"]["drift"] == 0
