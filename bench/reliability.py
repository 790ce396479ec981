"""The reliability checks in one command: exactly once under crashes, and sustained load.

    python bench/reliability.py [--quick] [--output bench/results/reliability.json] [--no-docs]

1. bench/chaos.py on the embedded PostgreSQL, then on a private cluster of this machine's
   PostgreSQL binaries: 50 clients x 200 actions through two app processes, 4 worker kills
   (SIGKILL) and 2 PostgreSQL crashes (``pg_ctl -m immediate``) during the load, then the
   verification against the database. ``--quick``: 10 x 100, 1 kill, 1 crash.
2. bench/sustained.py: 100 public actions/s and 200 partner case-list reads/s, open loop,
   for 5 minutes against one server, then the same verification of every action the load
   recorded. ``--quick``: 30 seconds at the same rates.

Writes every figure as JSON (``--output``) and the tables between the markers of
docs/reliability.md (unless ``--no-docs``). Exits with status 1 when any run found an
anomaly; the latency targets are reported (met or not), not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chaos
import sustained
from common import RESULTS_DIR, ROOT, write_generated

RESULTS = RESULTS_DIR / "reliability.json"
DOCS = ROOT / "docs" / "reliability.md"
HEADING = "Exactly once under crashes, and sustained load (figures)"

FULL_CHAOS = chaos.Plan(clients=50, actions=200, kills=4, restarts=2, action_deadline=120.0)
QUICK_CHAOS = chaos.Plan(clients=10, actions=100, kills=1, restarts=1, action_deadline=60.0)
FULL_LOAD = sustained.LoadPlan(seconds=300.0)
QUICK_LOAD = sustained.LoadPlan(seconds=30.0)


def run(quick: bool) -> dict[str, Any]:
    plan = QUICK_CHAOS if quick else FULL_CHAOS
    runs = []
    for database in ("embedded", "cluster"):
        result = chaos.chaos(plan, database)
        print(chaos.summary(result), flush=True)
        runs.append(result)
    load = sustained.sustained(QUICK_LOAD if quick else FULL_LOAD)
    print(sustained.summary(load), flush=True)
    return {"exactly_once": runs, "sustained": load}


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def tables(report: dict[str, Any]) -> str:
    """The generated part of docs/reliability.md."""
    command = "scripts/chaos" + (" --quick" if report["quick"] else "")
    lines = [
        f"Run on {report['date']} with `{command}` ({report['cpus']} CPUs, Python "
        f"{report['python']}, {report['wall_seconds']:.0f} s in all; load average "
        f"{report['load_average_1m']['before']:.1f} before, "
        f"{report['load_average_1m']['after']:.1f} after, the runs' own). "
        "Raw figures: `bench/results/reliability.json`.",
        "",
        row(
            [
                "PostgreSQL",
                "actions",
                "ok / failed / unknown",
                "retries",
                "resent: replayed",
                "changed: refused",
                "kills",
                "PostgreSQL crashes",
                "reconcile drift",
                "anomalies",
                "seconds",
            ]
        ),
        row(["---"] * 11),
    ]
    for result in report["exactly_once"]:
        duplicates, changed = result["duplicates"], result["changed_payloads"]
        lines.append(
            row(
                [
                    result["database_description"],
                    f"{result['actions']:,} ({result['plan']['clients']} x "
                    f"{result['plan']['actions']})",
                    f"{result['ok']:,} / {result['failed']} / {result['unknown']}",
                    f"{result['retries']:,}",
                    f"{duplicates['replayed']} of {duplicates['sent']}",
                    f"{changed['refused']} of {changed['sent']}",
                    str(result["kills"]),
                    str(result["database_restarts"]),
                    str(result["reconcile"].get("drift", "not run")),
                    str(len(result["anomalies"])),
                    f"{result['elapsed_seconds']:.0f}",
                ]
            )
        )
    lines += ["", "Why the clients retried (attempts without a definite answer):", ""]
    for result in report["exactly_once"]:
        reasons = ", ".join(f"{name} {count}" for name, count in result["retry_reasons"].items())
        lines.append(
            f"- {result['database']}: {reasons or 'none'}; "
            f"{result['acknowledged_as_replay']} actions were first acknowledged as a replay "
            "(an earlier attempt had been committed without its answer reaching the client); "
            f"requests that escaped the app (bare 500s): "
            f"{sum(result['unhandled_server_errors'].values())}"
        )
    load = report["sustained"]
    plan = load["plan"]
    lines += [
        "",
        f"Sustained load: {plan['action_rate']:.0f} actions/s and {plan['read_rate']:.0f} "
        f"case-list reads/s for {plan['seconds']:.0f} s, open loop, one server "
        f"({load['server']}), {load['database']}, world of {load['world']['cases']} cases in "
        f"{load['world']['languages']} languages; the server used "
        f"{load['server_cpu_share']:.0%} of a CPU.",
        "",
        row(
            [
                "kind",
                "target rate",
                "sent at",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "errors",
                "p95 < 250 ms and errors < 0.1%",
            ]
        ),
        row(["---"] * 9),
    ]
    for kind, name in (("actions", "actionRecord (anonymous)"), ("reads", "partner case list")):
        item = load[kind]
        lines.append(
            row(
                [
                    name,
                    f"{item['target_rate']:.0f}/s",
                    f"{item['achieved_rate']}/s",
                    str(item["p50_ms"]),
                    str(item["p95_ms"]),
                    str(item["p99_ms"]),
                    str(item["max_ms"]),
                    f"{item['errors']} of {item['requests']:,} ({item['error_rate']:.3%})",
                    "met" if item["meets_targets"] else "not met",
                ]
            )
        )
    verification = load["verification"]
    lines += [
        "",
        f"Verification of the load's actions: {verification['ok']:,} acknowledged, "
        f"{verification['stored_keys']:,} keys and {verification['stored_actions']:,} ledger "
        f"rows stored, reconcile drift {load['reconcile'].get('drift', 'not run')}, "
        f"{len(load['anomalies'])} anomalies.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (about 3 minutes)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-docs", action="store_true", help="leave docs/reliability.md")
    parser.add_argument(
        "--render", type=Path, help="only write the tables of this earlier JSON into the docs"
    )
    arguments = parser.parse_args()
    if arguments.render is not None:
        earlier = json.loads(arguments.render.read_text(encoding="utf-8"))
        write_generated(DOCS, "bench/reliability.py", tables(earlier), HEADING)
        return
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    figures = run(arguments.quick)
    report = {
        "benchmark": "reliability",
        "quick": arguments.quick,
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **figures,
        "wall_seconds": round(time.monotonic() - started, 1),
        "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = tables(report)
    if not arguments.no_docs:
        write_generated(DOCS, "bench/reliability.py", markdown, HEADING)
    print(markdown)
    anomalies = [a for r in report["exactly_once"] for a in r["anomalies"]]
    anomalies += report["sustained"]["anomalies"]
    for anomaly in anomalies:
        print(f"ANOMALY: {anomaly}")
    if anomalies:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
