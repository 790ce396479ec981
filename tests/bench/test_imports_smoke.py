"""bench/imports.py runs end to end with a small batch and writes its JSON. The figures are
not judged here: speed is shown by the benchmark, never by timed tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_DATABASE_URL_VARIABLE

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def test_a_small_run_is_exact_and_writes_every_measure(tmp_path: Path) -> None:
    # given the test server, when there is one (else the script starts its own)
    output = tmp_path / "imports.json"
    command = [sys.executable, str(BENCH / "imports.py"), "--batch", "50", "--rounds", "2"]
    command += ["--output", str(output)]
    server = os.environ.get(TEST_DATABASE_URL_VARIABLE)
    if server:
        command += ["--database-url", server]

    # when it imports two batches of 50 rows after its warm-up
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)

    # then it succeeds, every row counted once, and its JSON has every measure
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["exact"] is True
    assert report["accepted_rows"] == 50 + 2 * 50
    assert report["ledger_rows_quantity_keys"] == [150, 150, 150]
    assert len(report["rounds"]) == 2
    for figures in report["rounds"]:
        assert figures["seconds"] > 0
        assert figures["cpu_seconds"] > 0
        assert figures["sql_seconds"] > 0
        assert figures["statements"]
        assert all(statement["sql"] for statement in figures["statements"])
