"""bench/compare.py runs end to end in --smoke mode (tiny sizes, one short round) and
writes every measure to its JSON. The figures themselves are not judged here: speed is
shown by the benchmark, never by timed tests.

wrk is needed (skipped without it, failed under ``W4R_REQUIRE_INTEROP=1``); PostGraphile
is measured when Node.js and bench/postgraphile's packages are there (required in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.tools import REQUIRE_VARIABLE, executable, missing

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
POSTGRAPHILE = BENCH / "postgraphile" / "node_modules" / ".bin" / "postgraphile"
SERVER_MEASURES = (
    "requests_per_second",
    "p50_ms",
    "p99_ms",
    "cpu_ms_per_request",
    "peak_rss_mib",
    "rounds",
)


def postgraphile_available() -> bool:
    """Whether PostGraphile can run; under ``W4R_REQUIRE_INTEROP=1`` it must."""
    if shutil.which("node") is not None and POSTGRAPHILE.exists():
        return True
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        missing("PostGraphile", "install Node.js and run `npm ci --prefix bench/postgraphile`")
    return False


def assert_server_figures(figures: dict[str, Any]) -> None:
    assert set(SERVER_MEASURES) <= figures.keys()
    assert figures["requests_per_second"] > 0
    assert figures["cpu_ms_per_request"] > 0
    assert figures["peak_rss_mib"] > 0
    assert len(figures["rounds"]) == 1


def test_smoke_run_writes_every_measure(tmp_path: Path) -> None:
    # given wrk, and PostGraphile when it is installed
    executable("wrk", "`apt-get install wrk`")
    with_postgraphile = postgraphile_available()
    output = tmp_path / "compare.json"
    command = [sys.executable, str(BENCH / "compare.py"), "--smoke", "--no-docs"]
    command += ["--output", str(output)]
    if not with_postgraphile:
        command.append("--no-postgraphile")

    # when the harness runs in smoke mode
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    # then it succeeds and its JSON has every measure
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    servers = ["w4r", "floor"] + (["postgraphile"] if with_postgraphile else [])
    for variant in ("uncached", "cached"):
        block = report["case_list"][variant]
        for server in servers:
            assert_server_figures(block[server])
        assert sorted(block["ratios"]) == sorted(f"w4r_to_{s}" for s in servers[1:])
    assert report["action_record"]["requests_per_second"] > 0
    assert {"p50_ms", "p99_ms", "cpu_ms_per_request"} <= report["action_record"].keys()
    assert report["actions_import"]["rows_per_second"] > 0
    assert report["actions_import"]["rows_per_call"] == 200
    assert [totals["actions"] for totals in report["totals"]] == [2_000, 5_000]
    for totals in report["totals"]:
        assert_server_figures(totals)
        assert_server_figures(totals["served"])
        assert totals["reconcile"]["drift"] == 0
        assert totals["cells"] > 0
    # (the uncached case list's w4r is a second server, without the response cache)
    assert sorted(report["servers_peak_rss_mib"]) == sorted([*servers, "w4r-uncached"])
