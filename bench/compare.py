"""w4r side by side with a floor and with PostGraphile, on one database, in one run.

    python bench/compare.py [--quick | --smoke] [--sizes 100000,5000000] [--rounds 3]

Starts an embedded PostgreSQL in a temporary directory (deleted at the end), migrates it and
serves, each in its own subprocess on 127.0.0.1 with one worker or process:

- **w4r**: ``uvicorn --factory w4r.app:create_app``, production mode (as bench/ledger.py),
  twice: with the response cache (the default) and without it (``w4r-uncached``);
- **floor**: bench/floor.py, hand-written SQL on asyncpg in a plain Starlette app;
- **PostGraphile** v4 from bench/postgraphile (``npm ci --prefix bench/postgraphile``).

The world is created through w4r's API: one campaign open today, ``--cases`` published
cases with appeal targets, outcomes and ``--languages`` official translations each, four
sections, and some actions on every case so each has totals. Then, interleaved round by
round after a warm-up, with wrk (a Lua script posts the bodies) against each server:

- the partner case list (published cases of the year in one language, with targets,
  outcomes and totals), "uncached" (every request differs: languages x page sizes; w4r's
  column is the server without a response cache, so every request executes) and "cached"
  (one request repeated; w4r's column is the server with its response cache);
- ``actionRecord`` with wrk (a section's API key, a fresh idempotency key per request,
  32 connections, then the exactness check) and ``actionsImport`` batches
  (bench/ledger.py);
- the IS ``totals`` grouped by case x section x type x day, with the ledger loaded by SQL
  to each of ``--sizes`` actions (and the matching rollups), checked by ``reconcile``.

Per round: requests/s, p50/p99 latency, server CPU per request (the server process's CPU
time from /proc before and after), and the server's peak RSS. Medians are reported, with
the ratios to the floor and to PostGraphile. Writes bench/results/compare.json and the
table between the markers in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import ledger
from common import (
    CAMPAIGN_CREATE,
    CASE_CREATE,
    CASE_PUBLISH,
    HEADERS,
    RESULTS_DIR,
    ROOT,
    SECTION_CAMPAIGN_UPDATE,
    SECTION_CREATE,
    Caller,
    Server,
    check_reconcile,
    embedded_database,
    free_port,
    local_issuer,
    median,
    python_path,
    running,
    serve_w4r,
    uvicorn_command,
    write_generated,
)
from sqlalchemy.engine import URL

from w4r.platform.auth import Role, TokenIssuer
from w4r.platform.database import app_role_url

RESULTS = RESULTS_DIR / "compare.json"
DOCS = ROOT / "docs" / "performance.md"
POSTGRAPHILE_DIR = Path(__file__).resolve().parent / "postgraphile"
POSTGRAPHILE_BIN = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"

LANGUAGES = ("fr", "es", "de", "pl", "it", "pt", "nl", "ar", "ja", "sw")
EXTRA_SECTIONS = ("bnd", "bne", "bnf")
LOAD_TYPES = ("letter", "email", "petition-signature")
LOAD_DAYS = 30
CASE_LIST_CONNECTIONS = 16
TOTALS_CONNECTIONS = 2

PARTNER_CASE_LIST = """
query ($year: Int!, $language: String!, $first: Int!) {
  cases(campaign: $year, first: $first) {
    edges {
      node {
        id slug subjectName country themes
        text(language: $language) { language title summary story demands }
        appealTargets { name title email }
        outcomes { kind occurredOn datePrecision description }
        totals(campaign: $year) { quantity verified selfReported }
      }
    }
  }
}
"""
POSTGRAPHILE_CASE_LIST = """
query ($year: Int!, $language: String!, $first: Int!) {
  campaignByYear(year: $year) {
    caseCampaignsByCampaignId(first: $first, orderBy: [POSITION_ASC, CASE_ID_ASC]) {
      nodes {
        caseByCaseId {
          id slug subjectName country themes
          caseTextsByCaseId(condition: { language: $language, status: "published" }) {
            nodes { language title summary story demands }
          }
          caseAppealTargetsByCaseId(orderBy: POSITION_ASC) { nodes { name title email } }
          caseOutcomesByCaseId(orderBy: OCCURRED_ON_ASC) {
            nodes { kind occurredOn datePrecision description }
          }
          totals(campaignYear: $year) { quantity verified selfReported }
        }
      }
    }
  }
}
"""
IS_TOTALS = """
query ($year: Int!) {
  totals(campaign: $year, groupBy: [CASE, SECTION, ACTION_TYPE, DAY]) {
    quantity
    cells { caseId sectionCode actionType day quantity verified selfReported isSuppressed }
  }
}
"""
CASE_OUTCOME_ADD = """
mutation ($input: CaseOutcomeAddInput!) {
  caseOutcomeAdd(input: $input) { outcome { id } errors { field code message } }
}
"""
API_KEY_CREATE = """
mutation ($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { key errors { field code message } }
}
"""
TRANSLATION_UPSERT = """
mutation ($input: CaseTranslationUpsertInput!) {
  caseTranslationUpsert(input: $input) { translation { language } errors { field code message } }
}
"""
TRANSLATION_PUBLISH = """
mutation ($input: CaseTranslationPublishInput!) {
  caseTranslationPublish(input: $input) { translation { language } errors { field code message } }
}
"""
# PostGraphile has no aggregates without a plugin: the case's totals are a computed column,
# the same sums as w4r's Case.totals over the worldwide rollups.
POSTGRAPHILE_TOTALS_DDL = (
    "CREATE TYPE public.bench_case_totals AS "
    "(quantity bigint, verified bigint, self_reported bigint)",
    """
    CREATE FUNCTION public.cases_totals(c public.cases, campaign_year integer)
    RETURNS public.bench_case_totals LANGUAGE sql STABLE AS $$
      SELECT coalesce(sum(r.quantity), 0)::bigint,
             coalesce(sum(r.quantity) FILTER (WHERE r.verification = 'verified'), 0)::bigint,
             (coalesce(sum(r.quantity), 0)
              - coalesce(sum(r.quantity) FILTER (WHERE r.verification = 'verified'), 0))::bigint
      FROM case_rollups r JOIN campaigns k ON k.id = r.campaign_id
      WHERE r.case_id = c.id AND k.year = campaign_year
    $$
    """,
)


@dataclass(frozen=True)
class Profile:
    """How much of everything one run measures."""

    name: str
    rounds: int
    seconds: int
    warm_up_seconds: int
    cases: int
    languages: int
    sizes: tuple[int, ...]
    clients: int
    """actionRecord's wrk connections."""
    batch: int


PROFILES = {
    "full": Profile("full", 3, 5, 2, 12, 10, (100_000, 5_000_000), 32, 10_000),
    "quick": Profile("quick", 2, 3, 1, 12, 10, (100_000, 500_000), 32, 10_000),
    "smoke": Profile("smoke", 1, 1, 1, 3, 2, (2_000, 5_000), 4, 200),
}


# --- the world, through w4r's API ----------------------------------------------------------


@dataclass(frozen=True)
class World:
    year: int
    case_ids: tuple[str, ...]
    section_ids: tuple[str, ...]
    languages: tuple[str, ...]

    @property
    def hot_case(self) -> ledger.World:
        """The one case bench/ledger.py's rounds write to."""
        return ledger.World(year=self.year, case_id=self.case_ids[0])


def case_text(index: int, language: str) -> dict[str, str]:
    return {
        "title": f"[{language}] Case {index}",
        "summary": f"[{language}] What happened to the subject of case {index}. " * 3,
        "story": f"[{language}] The story of case {index}. " * 20,
        "demands": f"[{language}] Release the subject of case {index} now.",
    }


OUTCOMES = (
    {"occurredOn": "2021-03-04", "datePrecision": "DAY", "kind": "CHARGES_DROPPED"},
    {"occurredOn": "2022-06-01", "datePrecision": "MONTH", "kind": "RELEASED"},
)


async def create_case(caller: Caller, year: int, index: int, languages: tuple[str, ...]) -> str:
    """A published case with two targets, two outcomes and published IS translations."""
    admin = caller.token(Role.IS_ADMIN)
    created = await caller.mutate(
        CASE_CREATE,
        "caseCreate",
        {
            "slug": f"bench-case-{index:02d}",
            "subjectKind": "PERSON",
            "subjectName": f"Subject {index}",
            "country": "GB" if index % 2 else "MX",
            "themes": ["FREEDOM_OF_EXPRESSION", "TORTURE"],
            "sourceLanguage": "en",
            "sourceText": case_text(index, "en"),
            "campaignYears": [year],
            "appealTargets": [
                {"name": f"Minister {index}", "title": "Minister", "email": "m@example.org"},
                {"name": f"Governor {index}", "title": "Governor", "email": "g@example.org"},
            ],
            "solidarityRecipients": [{"name": f"Subject {index}"}],
        },
        admin,
    )
    case_id: str = created["case"]["id"]
    await caller.mutate(CASE_PUBLISH, "casePublish", {"id": case_id}, admin)
    for outcome in OUTCOMES:
        values = {"caseId": case_id, "description": f"{outcome['kind']} ({index}).", **outcome}
        await caller.mutate(CASE_OUTCOME_ADD, "caseOutcomeAdd", values, admin)
    for language in languages:
        upsert = {"caseId": case_id, "language": language, "text": case_text(index, language)}
        await caller.mutate(TRANSLATION_UPSERT, "caseTranslationUpsert", upsert, admin)
        publish = {"caseId": case_id, "language": language}
        await caller.mutate(TRANSLATION_PUBLISH, "caseTranslationPublish", publish, admin)
    return case_id


async def create_section(caller: Caller, code: str) -> None:
    values = {
        "code": code,
        "name": f"Benchmark section {code}",
        "country": "GB",
        "languages": ["en"],
        "timeZone": "Europe/London",
    }
    await caller.mutate(SECTION_CREATE, "sectionCreate", values, caller.token(Role.IS_ADMIN))


async def set_up(caller: Caller, profile: Profile, admin_dsn: str) -> World:
    """The campaign, cases, sections and some actions on every case (their totals)."""
    today = datetime.now(UTC).date()
    year = today.year
    await caller.mutate(
        CAMPAIGN_CREATE,
        "campaignCreate",
        {
            "year": year,
            "name": f"Write for Rights {year} (benchmark)",
            "startsOn": (today - timedelta(days=LOAD_DAYS + 5)).isoformat(),
            "endsOn": (today + timedelta(days=10)).isoformat(),
            "status": "OPEN",
        },
        caller.token(Role.IS_ADMIN),
    )
    languages = LANGUAGES[: profile.languages]
    case_ids = tuple(
        [await create_case(caller, year, index, languages) for index in range(profile.cases)]
    )
    for code in (ledger.SECTION_CODE, *EXTRA_SECTIONS):
        await create_section(caller, code)
    slugs = [f"bench-case-{index:02d}" for index in range(profile.cases)]
    await caller.mutate(
        SECTION_CAMPAIGN_UPDATE,
        "sectionCampaignUpdate",
        {"year": year, "featuredCaseSlugs": slugs},
        caller.token(Role.SECTION_ADMIN, ledger.SECTION_CODE),
        f"/s/{ledger.SECTION_CODE}/graphql",
    )
    for index, case_id in enumerate(case_ids):
        await ledger.import_round(caller, ledger.World(year, case_id), 10 * (index + 1))
    connection = await asyncpg.connect(admin_dsn)
    try:
        codes = [ledger.SECTION_CODE, *EXTRA_SECTIONS]
        rows = await connection.fetch(
            "SELECT id::text FROM sections WHERE code = ANY($1::text[]) ORDER BY code", codes
        )
    finally:
        await connection.close()
    return World(year, case_ids, tuple(row[0] for row in rows), languages)


# --- the servers -----------------------------------------------------------------------------


def libpq_url(url: URL) -> str:
    """``url`` as a plain ``postgresql://`` URL that asyncpg and node-postgres both read
    (the embedded server's Unix socket directory stays in ``?host=``)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _answers_post(path: str) -> Any:
    def is_ready(base: str) -> bool:
        response = httpx.post(base + path, json={"query": "{ __typename }"}, timeout=2.0)
        return response.status_code < 500

    return is_ready


@contextmanager
def serve_floor(admin_url: URL, workdir: Path) -> Iterator[Server]:
    """bench/floor.py under uvicorn, one worker, connected as the app role (every table it
    reads is global, readable without a section binding)."""
    port = free_port()
    environment = {
        **os.environ,
        "FLOOR_DATABASE_URL": libpq_url(app_role_url(admin_url, None)),
        "PYTHONPATH": python_path(),
    }
    command = uvicorn_command(
        "floor:create_app", port, "--factory", "--app-dir", str(Path(__file__).parent)
    )
    with running("floor", command, environment, workdir, port, _answers_post("/cases")) as server:
        yield server


@contextmanager
def serve_postgraphile(admin_url: URL, workdir: Path) -> Iterator[Server]:
    """PostGraphile v4, one Node process on 127.0.0.1, mutations off. It connects with the
    admin URL: as the app role, row-level security would hide the tenant rows, and w4r's
    app role has no grants PostGraphile's introspection expects to use."""
    port = free_port()
    command = [
        str(POSTGRAPHILE_BIN),
        "--connection",
        libpq_url(admin_url),
        "--schema",
        "public",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-default-mutations",
        "--disable-query-log",
        "--dynamic-json",
        "--no-setof-functions-contain-nulls",
    ]
    environment = {**os.environ, "NODE_ENV": "production"}
    with running(
        "PostGraphile", command, environment, workdir, port, _answers_post("/graphql")
    ) as server:
        yield server


# --- measuring a server under wrk ------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (/proc/<pid>/stat, fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmHWM for process {pid}")


@dataclass(frozen=True)
class Load:
    """What wrk sends: one URL, headers, and bodies posted in turn."""

    url: str
    headers: dict[str, str]
    bodies: tuple[str, ...]
    connections: int


@dataclass(frozen=True)
class Round:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    cpu_ms_per_request: float
    peak_rss_mib: float


LUA = """
wrk.method = "POST"
{headers}
local bodies = {{ {bodies} }}
local index = 0
request = function()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format(
    "\\nWRK_JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,"
    .. "\\"p50_us\\":%d,\\"p99_us\\":%d,\\"max_us\\":%d}}\\n",
    summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_string(value: str) -> str:
    """A Lua long-bracket literal holding ``value`` verbatim."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    return f"[{'=' * level}[{value}]{'=' * level}]"


def wrk_script(load: Load, directory: Path) -> Path:
    headers = "\n".join(
        f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}"
        for name, value in load.headers.items()
    )
    script = LUA.format(headers=headers, bodies=", ".join(lua_string(b) for b in load.bodies))
    path = directory / f"load-{abs(hash((load.url, load.bodies)))}.lua"
    path.write_text(script, encoding="utf-8")
    return path


def wrk_summary(
    wrk: str, server: Server, url: str, script: Path, connections: int, seconds: int
) -> tuple[dict[str, Any], float, str]:
    """wrk (one thread) with ``script`` against ``url``: the script's WRK_JSON summary, the
    server's CPU seconds during the run (read before and after) and wrk's output."""
    command = [
        wrk,
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "--script",
        str(script),
        url,
    ]
    cpu_before = cpu_seconds(server.pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu_used = cpu_seconds(server.pid) - cpu_before
    found = re.search(r"^WRK_JSON (\{.*\})$", output, re.MULTILINE)
    if found is None:
        raise SystemExit(f"wrk gave no summary:\n{output}")
    return json.loads(found.group(1)), cpu_used, output


ROUND_ATTEMPTS = 4


def run_wrk(wrk: str, server: Server, load: Load, seconds: int, directory: Path) -> Round:
    """One wrk run against ``server``; the server's CPU time is read before and after.
    A round in which no request completed (a busy machine, a short smoke round) is run
    again for twice as long, a few times at most."""
    script = wrk_script(load, directory)
    for attempt in range(ROUND_ATTEMPTS):
        summary, cpu_used, output = wrk_summary(
            wrk, server, load.url, script, load.connections, seconds * 2**attempt
        )
        if summary["requests"] or summary["errors"]:
            break
    requests = int(summary["requests"])
    if requests == 0 or summary["errors"]:
        raise SystemExit(f"{server.name}: {summary['errors']} errors of {requests}:\n{output}")
    duration = summary["duration_us"] / 1e6
    return Round(
        requests=requests,
        seconds=duration,
        requests_per_second=requests / duration,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
        errors=int(summary["errors"]),
        cpu_ms_per_request=1000 * cpu_used / requests,
        peak_rss_mib=peak_rss_mib(server.pid),
    )


def summarize(rounds: list[Round]) -> dict[str, Any]:
    return {
        "requests_per_second": median([r.requests_per_second for r in rounds]),
        "p50_ms": median([r.p50_ms for r in rounds]),
        "p99_ms": median([r.p99_ms for r in rounds]),
        "cpu_ms_per_request": median([r.cpu_ms_per_request for r in rounds]),
        "peak_rss_mib": max(r.peak_rss_mib for r in rounds),
        "rounds": [asdict(r) for r in rounds],
    }


# --- the case list -------------------------------------------------------------------------


def case_list_loads(
    world: World, servers: dict[str, Server], token: str, cached: bool
) -> dict[str, Load]:
    """Per server, the bodies of one variant: "cached" repeats one request; "uncached"
    turns through every language and page size from the number of cases to 20 more, so
    no two requests in a row are the same and every one returns every case."""
    pairs = [(world.languages[0], len(world.case_ids))]
    if not cached:
        pairs = [
            (language, first)
            for first in range(len(world.case_ids), len(world.case_ids) + 20)
            for language in world.languages
        ]
    json_headers = {"content-type": "application/json", **HEADERS}

    def graphql_bodies(query: str) -> tuple[str, ...]:
        return tuple(
            json.dumps(
                {"query": query, "variables": {"year": world.year, "language": lg, "first": n}}
            )
            for lg, n in pairs
        )

    loads = {
        "w4r": Load(
            servers["w4r"].base + "/graphql",
            {**json_headers, "authorization": f"Bearer {token}"},
            graphql_bodies(PARTNER_CASE_LIST),
            CASE_LIST_CONNECTIONS,
        ),
        "floor": Load(
            servers["floor"].base + "/cases",
            json_headers,
            tuple(
                json.dumps({"campaign": world.year, "language": lg, "first": n}) for lg, n in pairs
            ),
            CASE_LIST_CONNECTIONS,
        ),
    }
    if "postgraphile" in servers:
        loads["postgraphile"] = Load(
            servers["postgraphile"].base + "/graphql",
            {"content-type": "application/json", "accept": "application/json"},
            graphql_bodies(POSTGRAPHILE_CASE_LIST),
            CASE_LIST_CONNECTIONS,
        )
    return loads


def check_case_lists(world: World, loads: dict[str, Load]) -> dict[str, int]:
    """Every server answers the first body with every case and its text in the language;
    returns each answer's size in bytes."""
    sizes = {}
    for name, load in loads.items():
        response = httpx.post(load.url, content=load.bodies[0], headers=load.headers, timeout=30)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"{name}: {response.status_code} {str(body)[:500]}")
        if name == "postgraphile":
            nodes = body["data"]["campaignByYear"]["caseCampaignsByCampaignId"]["nodes"]
            texts = [node["caseByCaseId"]["caseTextsByCaseId"]["nodes"][0] for node in nodes]
            totals = [int(node["caseByCaseId"]["totals"]["quantity"]) for node in nodes]
        else:
            edges = body["data"]["cases"]["edges"]
            texts = [edge["node"]["text"] for edge in edges]
            totals = [edge["node"]["totals"]["quantity"] for edge in edges]
        if len(texts) != len(world.case_ids) or {t["language"] for t in texts} != {
            world.languages[0]
        }:
            raise SystemExit(f"{name}: not every case in {world.languages[0]}: {texts}")
        if sorted(totals) != [10 * (index + 1) for index in range(len(world.case_ids))]:
            raise SystemExit(f"{name}: unexpected totals {totals}")
        sizes[name] = len(response.content)
    return sizes


def measure_case_list(
    wrk: str,
    world: World,
    servers: dict[str, Server],
    token: str,
    profile: Profile,
    directory: Path,
) -> dict[str, Any]:
    # "uncached" is served by a w4r with its response cache off (its 200 bodies would all
    # be cache hits after the warm-up), "cached" by the one with it on; the floor and
    # PostGraphile have no cache and serve both.
    by_variant = {
        "uncached": {**servers, "w4r": servers["w4r-uncached"]},
        "cached": servers,
    }
    variants = {
        variant: case_list_loads(world, by_variant[variant], token, cached=variant == "cached")
        for variant in ("uncached", "cached")
    }
    check_case_lists(world, variants["uncached"])
    sizes = check_case_lists(world, variants["cached"])
    rounds: dict[str, dict[str, list[Round]]] = {
        variant: {name: [] for name in loads} for variant, loads in variants.items()
    }
    for variant, loads in variants.items():
        for name, load in loads.items():
            run_wrk(wrk, by_variant[variant][name], load, profile.warm_up_seconds, directory)
    for number in range(profile.rounds):
        for variant, loads in variants.items():
            for name, load in loads.items():
                server = by_variant[variant][name]
                result = run_wrk(wrk, server, load, profile.seconds, directory)
                rounds[variant][name].append(result)
                print(
                    f"case list {variant:8} {name:12} round {number + 1}: "
                    f"{result.requests_per_second:8.0f} req/s  p50 {result.p50_ms:7.1f} ms"
                )
    report: dict[str, Any] = {"response_bytes": sizes, "connections": CASE_LIST_CONNECTIONS}
    for variant, by_server in rounds.items():
        summaries = {name: summarize(results) for name, results in by_server.items()}
        report[variant] = {**summaries, "ratios": ratios(summaries)}
    return report


def ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """w4r's figures divided by each other server's (throughput below 1 means slower;
    latency, CPU and memory above 1 mean more)."""
    w4r = summaries["w4r"]
    measures = ("requests_per_second", "p50_ms", "p99_ms", "cpu_ms_per_request", "peak_rss_mib")
    return {
        f"w4r_to_{name}": {measure: w4r[measure] / other[measure] for measure in measures}
        for name, other in summaries.items()
        if name != "w4r"
    }


# --- writes: actionRecord (wrk) and actionsImport (bench/ledger.py) -------------------------

# Every request a fresh idempotency key: the run's token, the wrk thread and a counter of
# the thread (its connections share it). An answer counts as accepted when it is a 200
# with no errors and not a replay; wrk reports how many were and were not.
RECORD_LUA = """
wrk.method = "POST"
{headers}
local head, tail = {head}, {tail}
local threads = {{}}
local thread_count = 0
setup = function(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
  table.insert(threads, thread)
end
local sent = 0
accepted = 0
refused = 0
request = function()
  sent = sent + 1
  return wrk.format(nil, nil, nil, head .. thread_number .. "-" .. sent .. tail)
end
response = function(status, headers, body)
  if status == 200 and string.find(body, '"errors":[]', 1, true)
      and string.find(body, '"replayed":false', 1, true) then
    accepted = accepted + 1
  else
    refused = refused + 1
  end
end
done = function(summary, latency, requests)
  local total_accepted, total_refused = 0, 0
  for _, thread in ipairs(threads) do
    total_accepted = total_accepted + thread:get("accepted")
    total_refused = total_refused + thread:get("refused")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format(
    "\\nWRK_JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,"
    .. "\\"p50_us\\":%d,\\"p99_us\\":%d,\\"max_us\\":%d,"
    .. "\\"accepted\\":%d,\\"refused\\":%d}}\\n",
    summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(99), latency.max,
    total_accepted, total_refused))
end
"""
KEY_PLACEHOLDER = "@KEY@"


async def record_api_key(caller: Caller) -> str:
    """An API key of the hot section with ``actions:record``: the high-volume recorder is a
    section's website or app (a partner-app caller, not audited per call like staff)."""
    created = await caller.mutate(
        API_KEY_CREATE,
        "apiKeyCreate",
        {"name": "Benchmark site", "scopes": ["actions:record"]},
        caller.token(Role.SECTION_ADMIN, ledger.SECTION_CODE),
        f"/s/{ledger.SECTION_CODE}/graphql",
    )
    key: str = created["key"]
    return key


def record_script(world: World, api_key: str, run: str, directory: Path) -> Path:
    """The wrk script posting ``actionRecord`` on the hot case with fresh keys."""
    body = json.dumps(
        {
            "query": ledger.ACTION_RECORD,
            "variables": {
                "input": {
                    "campaign": world.year,
                    "caseId": world.hot_case.case_id,
                    "actionType": "LETTER",
                    "idempotencyKey": KEY_PLACEHOLDER,
                }
            },
        }
    )
    head, tail = body.split(KEY_PLACEHOLDER)
    headers = {
        "content-type": "application/json",
        **HEADERS,
        "authorization": f"Bearer {api_key}",
    }
    script = RECORD_LUA.format(
        headers="\n".join(
            f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}"
            for name, value in headers.items()
        ),
        head=lua_string(head + run + "-"),
        tail=lua_string(tail),
    )
    path = directory / f"record-{run}.lua"
    path.write_text(script, encoding="utf-8")
    return path


async def recorded_with_prefix(admin_dsn: str, case_id: str, prefix: str) -> tuple[int, int]:
    """(claimed idempotency keys starting with ``prefix``, quantity of their ledger rows on
    the case), as the database's owner."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS keys, coalesce(sum(a.quantity), 0) AS quantity "
            "FROM idempotency_keys k JOIN actions a ON a.id = k.result_id "
            "WHERE k.key LIKE $1 || '%' AND a.case_id = $2::uuid",
            prefix,
            case_id,
        )
    finally:
        await connection.close()
    return int(row["keys"]), int(row["quantity"])


async def imported_on_case(admin_dsn: str, case_id: str) -> tuple[int, int, int]:
    """(imported ledger rows on the case, their quantity, the actionsImport keys of the
    import rounds' client), as the database's owner."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        rows = await connection.fetchrow(
            "SELECT count(*) AS rows, coalesce(sum(quantity), 0) AS quantity FROM actions "
            "WHERE case_id = $1::uuid AND channel = 'import'",
            case_id,
        )
        keys = await connection.fetchval(
            "SELECT count(*) FROM idempotency_keys "
            "WHERE client_id = $1 AND operation = 'actionsImport'",
            f"{Role.SECTION_ADMIN.value}:{ledger.IMPORTER}",
        )
    finally:
        await connection.close()
    return int(rows["rows"]), int(rows["quantity"]), int(keys)


async def record_round_wrk(
    wrk: str,
    server: Server,
    world: World,
    api_key: str,
    admin_dsn: str,
    connections: int,
    seconds: int,
    directory: Path,
) -> dict[str, float]:
    """One wrk run of actionRecord, then its exactness: every answer accepted, and the keys
    of the run each claimed once with one action of quantity 1. Calls still in flight when
    wrk stops (at most one a connection) may be recorded without wrk reading the answer."""
    run = uuid.uuid4().hex[:12]
    script = record_script(world, api_key, run, directory)
    url = f"{server.base}/s/{ledger.SECTION_CODE}/graphql"
    summary, cpu_used, output = await asyncio.to_thread(
        wrk_summary, wrk, server, url, script, connections, seconds
    )
    requests, accepted = int(summary["requests"]), int(summary["accepted"])
    if requests == 0 or summary["errors"] or summary["refused"]:
        raise SystemExit(f"actionRecord: {summary}:\n{output}")
    keys, quantity = await recorded_with_prefix(admin_dsn, world.hot_case.case_id, run)
    if keys != quantity or not accepted <= keys <= accepted + connections:
        raise SystemExit(
            f"actionRecord not exact: {accepted} accepted, {keys} keys, quantity {quantity}"
        )
    duration = summary["duration_us"] / 1e6
    return {
        "requests_per_second": accepted / duration,
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "max_ms": summary["max_us"] / 1000,
        "cpu_ms_per_request": 1000 * cpu_used / accepted,
        "accepted": accepted,
        "recorded": keys,
        "peak_rss_mib": peak_rss_mib(server.pid),
    }


async def measure_writes(
    caller: Caller,
    world: World,
    server: Server,
    profile: Profile,
    wrk: str,
    directory: Path,
    admin_dsn: str,
) -> dict[str, Any]:
    """actionRecord rounds (wrk) and ledger.py's import rounds on the world's first case,
    in turn."""
    hot = world.hot_case
    api_key = await record_api_key(caller)
    connections = profile.clients

    async def record_round() -> dict[str, float]:
        return await record_round_wrk(
            wrk, server, world, api_key, admin_dsn, connections, profile.seconds, directory
        )

    await record_round_wrk(
        wrk, server, world, api_key, admin_dsn, connections, profile.warm_up_seconds, directory
    )
    await ledger.import_round(caller, hot, min(profile.batch, 1000))
    records: list[dict[str, float]] = []
    imports: list[dict[str, float]] = []
    for _ in range(profile.rounds):
        record = await record_round()
        records.append(record)
        imported = await imported_on_case(admin_dsn, hot.case_id)
        before = cpu_seconds(server.pid)
        batch = await ledger.import_round(caller, hot, profile.batch)
        used = cpu_seconds(server.pid) - before
        # A fresh batch each round: every row written once, counted once, its key claimed.
        grown = [
            after - earlier
            for after, earlier in zip(
                await imported_on_case(admin_dsn, hot.case_id), imported, strict=True
            )
        ]
        if grown != [profile.batch] * 3:
            raise SystemExit(f"actionsImport not exact: {profile.batch} rows sent, {grown}")
        imports.append(
            {
                "rows_per_second": batch.rows_per_second,
                "seconds_per_call": batch.seconds,
                "cpu_seconds_per_call": used,
                "body_bytes": batch.body_bytes,
                "peak_rss_mib": peak_rss_mib(server.pid),
            }
        )
        print(
            f"actionRecord {record['requests_per_second']:6.0f} calls/s; "
            f"actionsImport {batch.rows_per_second:6.0f} rows/s"
        )

    def medians(rounds: list[dict[str, float]]) -> dict[str, Any]:
        keys = [key for key in rounds[0] if key != "peak_rss_mib"]
        return {
            **{key: median([r[key] for r in rounds]) for key in keys},
            "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
            "rounds": rounds,
        }

    return {
        "action_record": {
            "clients": connections,
            "caller": "a section's API key with actions:record (wrk, fresh keys)",
            **medians(records),
        },
        "actions_import": {"rows_per_call": profile.batch, **medians(imports)},
    }


# --- the IS totals over a large ledger -------------------------------------------------------

LOAD_ACTIONS = """
INSERT INTO actions (section_id, campaign_id, case_id, action_type, channel, quantity,
                     occurred_at, counted_on, verification, reporter_kind, reporter_ref,
                     method, client_id)
SELECT ($1::uuid[])[1 + n % $3::int], $5::uuid, ($2::uuid[])[1 + (n / $3::int) % $4::int],
       ($6::text[])[1 + (n / ($3::int * $4::int)) % 3], 'import', 1,
       (day + time '12:00') AT TIME ZONE 'UTC', day,
       CASE WHEN (n / 7) % 2 = 0 THEN 'verified' ELSE 'self-reported' END,
       'import-batch', $7::text, 'bench-load', 'bench-loader'
FROM generate_series($8::bigint, $9::bigint) AS n,
     LATERAL (SELECT $10::date - ((n / ($3::int * $4::int * 3)) % $11::int)::int AS day) AS days
"""
LOAD_SECTION_ROLLUPS = """
INSERT INTO action_rollups (section_id, campaign_id, case_id, action_type, channel,
                            verification, day, slot, quantity, rows)
SELECT section_id, campaign_id, case_id, action_type, channel, verification, counted_on,
       (abs(hashtext(id::text)) % 8)::smallint, sum(quantity), count(*)
FROM actions WHERE reporter_ref = $1
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ON CONFLICT ON CONSTRAINT pk_action_rollups DO UPDATE
SET quantity = action_rollups.quantity + excluded.quantity,
    rows = action_rollups.rows + excluded.rows
"""
LOAD_CASE_ROLLUPS = """
INSERT INTO case_rollups (campaign_id, case_id, action_type, channel, verification, day, slot,
                          quantity, rows)
SELECT campaign_id, case_id, action_type, channel, verification, counted_on,
       (abs(hashtext(id::text)) % 8)::smallint, sum(quantity), count(*)
FROM actions WHERE reporter_ref = $1
GROUP BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT ON CONSTRAINT pk_case_rollups DO UPDATE
SET quantity = case_rollups.quantity + excluded.quantity,
    rows = case_rollups.rows + excluded.rows
"""
LOAD_CHUNK = 500_000


async def load_ledger(admin_dsn: str, world: World, start: int, end: int) -> float:
    """Actions ``start`` .. ``end - 1`` (spread over the sections, cases, three types and
    the last 30 days) and their rollups, as the database's owner; returns the seconds."""
    started = time.perf_counter()
    connection = await asyncpg.connect(admin_dsn, command_timeout=None)
    try:
        campaign_id = await connection.fetchval(
            "SELECT id FROM campaigns WHERE year = $1", world.year
        )
        tag = f"bench-load-{start}-{end}"
        async with connection.transaction():
            for first in range(start, end, LOAD_CHUNK):
                last = min(end, first + LOAD_CHUNK) - 1
                await connection.execute(
                    LOAD_ACTIONS,
                    list(world.section_ids),
                    list(world.case_ids),
                    len(world.section_ids),
                    len(world.case_ids),
                    campaign_id,
                    list(LOAD_TYPES),
                    tag,
                    first,
                    last,
                    datetime.now(UTC).date(),
                    LOAD_DAYS,
                )
                print(f"  ledger: {last + 1:,} of {end:,} actions")
            await connection.execute(LOAD_SECTION_ROLLUPS, tag)
            await connection.execute(LOAD_CASE_ROLLUPS, tag)
        await connection.execute("ANALYZE actions, action_rollups, case_rollups")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def ledger_rows(admin_dsn: str) -> int:
    connection = await asyncpg.connect(admin_dsn)
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM actions")
        quantity: int = await connection.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM actions WHERE flag IS NULL"
        )
    finally:
        await connection.close()
    if count != quantity:
        raise SystemExit(f"the ledger has {count} rows but a quantity of {quantity}")
    return count


def measure_totals(
    wrk: str,
    world: World,
    servers: dict[str, Server],
    issuer: TokenIssuer,
    admin_url: URL,
    profile: Profile,
    directory: Path,
) -> list[dict[str, Any]]:
    """For each size: load the ledger up to it, reconcile, then the IS totals rounds,
    interleaved: "computed" by the w4r without a response cache (every request runs the
    report), "served" by the one with it (the report at most the totals bound old)."""
    admin_dsn = libpq_url(admin_url)
    token = issuer.issue(Role.IS_ANALYST, ttl_seconds=3600)
    by_way = {"computed": servers["w4r-uncached"], "served": servers["w4r"]}
    loads = {
        way: Load(
            server.base + "/graphql",
            {"content-type": "application/json", **HEADERS, "authorization": f"Bearer {token}"},
            (json.dumps({"query": IS_TOTALS, "variables": {"year": world.year}}),),
            TOTALS_CONNECTIONS,
        )
        for way, server in by_way.items()
    }
    load = loads["computed"]
    results = []
    for size in profile.sizes:
        present = asyncio.run(ledger_rows(admin_dsn))
        print(f"totals: loading the ledger from {present:,} to {size:,} actions")
        load_seconds = (
            asyncio.run(load_ledger(admin_dsn, world, present, size)) if size > present else 0.0
        )
        actions = asyncio.run(ledger_rows(admin_dsn))
        drift = asyncio.run(check_reconcile(admin_url))
        answer = httpx.post(load.url, content=load.bodies[0], headers=load.headers, timeout=120)
        body = answer.json()
        if answer.status_code != 200 or body.get("errors"):
            raise SystemExit(f"totals: {answer.status_code} {str(body)[:500]}")
        report = body["data"]["totals"]
        if report["quantity"] != actions:
            raise SystemExit(f"totals: {report['quantity']} != {actions} actions in the ledger")
        rounds: dict[str, list[Round]] = {way: [] for way in by_way}
        for way, server in by_way.items():
            run_wrk(wrk, server, loads[way], profile.warm_up_seconds, directory)
        for number in range(profile.rounds):
            for way, server in by_way.items():
                done = run_wrk(wrk, server, loads[way], profile.seconds, directory)
                rounds[way].append(done)
                print(
                    f"totals at {actions:,}, {way:8}: round {number + 1}: "
                    f"{done.requests_per_second:7.1f} req/s  p50 {done.p50_ms:7.1f} ms"
                )
        results.append(
            {
                "actions": actions,
                "cells": len(report["cells"]),
                "suppressed_cells": sum(cell["isSuppressed"] for cell in report["cells"]),
                "response_bytes": len(answer.content),
                "load_seconds": round(load_seconds, 1),
                "reconcile": drift,
                "connections": TOTALS_CONNECTIONS,
                **summarize(rounds["computed"]),
                "served": summarize(rounds["served"]),
            }
        )
    return results


# --- the run ---------------------------------------------------------------------------------


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed: `sudo apt-get install -y wrk` (Debian, Ubuntu) or "
            "`brew install wrk` (macOS)"
        )
    return found


def require_postgraphile() -> None:
    if shutil.which("node") is None:
        raise SystemExit("Node.js is not installed (18 or newer); or pass --no-postgraphile")
    if not POSTGRAPHILE_BIN.exists():
        raise SystemExit(
            "PostGraphile is not installed: run `npm ci --prefix bench/postgraphile`; "
            "or pass --no-postgraphile"
        )


def create_postgraphile_totals(admin_dsn: str) -> None:
    async def create() -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            for statement in POSTGRAPHILE_TOTALS_DDL:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(create())


def profile_from(arguments: argparse.Namespace) -> Profile:
    name = "smoke" if arguments.smoke else "quick" if arguments.quick else "full"
    profile = PROFILES[name]
    changes: dict[str, Any] = {}
    if arguments.sizes:
        changes["sizes"] = tuple(sorted(int(size) for size in arguments.sizes.split(",")))
    if arguments.rounds:
        changes["rounds"] = arguments.rounds
    if arguments.seconds:
        changes["seconds"] = arguments.seconds
    return Profile(**{**asdict(profile), **changes})


def run(arguments: argparse.Namespace, profile: Profile, wrk: str) -> dict[str, Any]:
    key_json, issuer = local_issuer()
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="w4r-wrk-")))
        workdir, admin_url = stack.enter_context(embedded_database())
        admin_dsn = libpq_url(admin_url)
        servers = {"w4r": stack.enter_context(serve_w4r(admin_url, key_json, workdir))}
        print(f"w4r at {servers['w4r'].base}; setting up {profile.cases} cases")

        async def create_world() -> World:
            async with httpx.AsyncClient(base_url=servers["w4r"].base, timeout=300.0) as http:
                return await set_up(Caller(http, issuer), profile, admin_dsn)

        world = asyncio.run(create_world())
        servers["floor"] = stack.enter_context(serve_floor(admin_url, workdir))
        servers["w4r-uncached"] = stack.enter_context(
            serve_w4r(
                admin_url,
                key_json,
                workdir,
                name="w4r-uncached",
                settings={"W4R_RESPONSE_CACHE_ENABLED": "false"},
            )
        )
        if not arguments.no_postgraphile:
            create_postgraphile_totals(admin_dsn)
            servers["postgraphile"] = stack.enter_context(serve_postgraphile(admin_url, workdir))
        print("servers: " + ", ".join(f"{s.name} {s.base} (pid {s.pid})" for s in servers.values()))
        partner = issuer.issue(Role.PARTNER_APP, subject="bench-partner", ttl_seconds=3600)
        case_list = measure_case_list(wrk, world, servers, partner, profile, directory)

        async def writes() -> dict[str, Any]:
            async with httpx.AsyncClient(base_url=servers["w4r"].base, timeout=300.0) as http:
                return await measure_writes(
                    Caller(http, issuer),
                    world,
                    servers["w4r"],
                    profile,
                    wrk,
                    directory,
                    admin_dsn,
                )

        write_report = asyncio.run(writes())
        totals = measure_totals(wrk, world, servers, issuer, admin_url, profile, directory)
        peaks = {name: peak_rss_mib(server.pid) for name, server in servers.items()}
    return {
        "case_list": case_list,
        **write_report,
        "totals": totals,
        "servers_peak_rss_mib": peaks,
        "world": {
            "cases": profile.cases,
            "languages": list(world.languages),
            "sections": len(world.section_ids),
            "load_days": LOAD_DAYS,
            "load_action_types": list(LOAD_TYPES),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="ledger sizes 100,000 and 500,000")
    speed.add_argument("--smoke", action="store_true", help="tiny sizes, one short round")
    parser.add_argument("--sizes", help="ledger sizes for the totals, comma-separated")
    parser.add_argument("--rounds", type=int, help="measured rounds (after a warm-up)")
    parser.add_argument("--seconds", type=int, help="seconds of each wrk round")
    parser.add_argument("--no-postgraphile", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md")
    arguments = parser.parse_args()
    profile = profile_from(arguments)
    wrk = require_wrk()
    if not arguments.no_postgraphile:
        require_postgraphile()

    started = time.monotonic()
    load_before = os.getloadavg()[0]  # other work on the machine skews the figures
    figures = run(arguments, profile, wrk)
    report = {
        "benchmark": "compare",
        "profile": asdict(profile),
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "servers": {
            "w4r": "uvicorn, 1 worker, W4R_ENVIRONMENT=production, app role",
            "floor": "bench/floor.py: Starlette + asyncpg under uvicorn, 1 worker, app role",
            "postgraphile": None
            if arguments.no_postgraphile
            else "PostGraphile 4 (bench/postgraphile), 1 Node process, admin URL",
        },
        "database": "embedded PostgreSQL over a Unix socket, shared by every server",
        "load_generator": "wrk, 1 thread, 127.0.0.1 (actionsImport: httpx)",
        **figures,
        "wall_seconds": round(time.monotonic() - started, 1),
        "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = tables(report)
    if not arguments.no_docs:
        write_docs(markdown)
    print(markdown)
    print(f"({report['wall_seconds']:.0f} s in all; raw: {arguments.output})")


# --- the report ------------------------------------------------------------------------------


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def ratio_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def tables(report: dict[str, Any]) -> str:
    lines = [
        f"Run of {report['date']}, profile `{report['profile']['name']}`: "
        f"{report['profile']['rounds']} rounds of {report['profile']['seconds']} s after a "
        f"warm-up, medians; {report['cpus']} CPUs, Python {report['python']}, load average "
        f"{report['load_average_1m']['before']:.1f} before and "
        f"{report['load_average_1m']['after']:.1f} after; {report['wall_seconds']:.0f} s in all.",
        "",
        f"**Partner case list** ({report['world']['cases']} cases, "
        f"{len(report['world']['languages'])} languages, wrk with "
        f"{report['case_list']['connections']} connections). Ratios are w4r's figure "
        "divided by the other server's.",
        "",
        row(
            [
                "variant",
                "server",
                "requests/s",
                "p50 ms",
                "p99 ms",
                "server CPU ms/request",
                "peak RSS MiB",
                "w4r ÷ it: requests/s",
                "w4r ÷ it: CPU/request",
            ]
        ),
        row(["---"] * 9),
    ]
    for variant in ("uncached", "cached"):
        block = report["case_list"][variant]
        for name in ("w4r", "floor", "postgraphile"):
            if name not in block:
                continue
            figures = block[name]
            against = block["ratios"].get(f"w4r_to_{name}", {})
            lines.append(
                row(
                    [
                        variant,
                        name,
                        f"{figures['requests_per_second']:,.0f}",
                        f"{figures['p50_ms']:.1f}",
                        f"{figures['p99_ms']:.1f}",
                        f"{figures['cpu_ms_per_request']:.2f}",
                        f"{figures['peak_rss_mib']:.0f}",
                        ratio_text(against.get("requests_per_second")),
                        ratio_text(against.get("cpu_ms_per_request")),
                    ]
                )
            )
    record, batch = report["action_record"], report["actions_import"]
    lines += [
        "",
        "**Writes and the IS totals** (w4r only).",
        "",
        row(["measure", "throughput", "p50", "p99", "server CPU", "peak RSS MiB"]),
        row(["---"] * 6),
        row(
            [
                f"actionRecord, {record['clients']} connections on one case (an API key)",
                f"{record['requests_per_second']:,.0f} calls/s",
                f"{record['p50_ms']:.1f} ms",
                f"{record['p99_ms']:.1f} ms",
                f"{record['cpu_ms_per_request']:.2f} ms/call",
                f"{record['peak_rss_mib']:.0f}",
            ]
        ),
        row(
            [
                f"actionsImport, {batch['rows_per_call']:,} rows a call",
                f"{batch['rows_per_second']:,.0f} rows/s",
                f"{batch['seconds_per_call']:.2f} s a call",
                "",
                f"{batch['cpu_seconds_per_call']:.2f} s/call",
                f"{batch['peak_rss_mib']:.0f}",
            ]
        ),
    ]
    for totals in report["totals"]:
        for way, figures in (("computed", totals), ("served", totals["served"])):
            how = (
                "computed on every request"
                if way == "computed"
                else "served from the response cache, at most the totals bound old"
            )
            lines.append(
                row(
                    [
                        f"IS totals by case, section, type and day, {totals['actions']:,} "
                        f"actions ({totals['cells']:,} cells, reconcile drift "
                        f"{totals['reconcile']['drift']}), {how}",
                        f"{figures['requests_per_second']:,.1f} requests/s",
                        f"{figures['p50_ms']:.1f} ms",
                        f"{figures['p99_ms']:.1f} ms",
                        f"{figures['cpu_ms_per_request']:.2f} ms/request",
                        f"{figures['peak_rss_mib']:.0f}",
                    ]
                )
            )
    lines += ["", *targets_table(report)]
    return "\n".join(lines)


def targets_table(report: dict[str, Any]) -> list[str]:
    """The issue's targets against this run's figures: met or by how much not."""
    case_list = report["case_list"]
    record, batch = report["action_record"], report["actions_import"]
    smallest, largest = report["totals"][0], report["totals"][-1]
    cached_to_floor = case_list["cached"]["ratios"]["w4r_to_floor"]["requests_per_second"]
    checks: list[tuple[str, str, bool]] = [
        (
            "cached case list: at least 3x the floor's requests/s",
            f"{cached_to_floor:.2f}x",
            cached_to_floor >= 3,
        )
    ]
    to_postgraphile = case_list["uncached"]["ratios"].get("w4r_to_postgraphile")
    if to_postgraphile is not None:
        ratio = to_postgraphile["requests_per_second"]
        checks.append(
            ("uncached case list: at least PostGraphile's requests/s", f"{ratio:.2f}x", ratio >= 1)
        )
    checks += [
        (
            "actionRecord: at least 1,000 requests/s",
            f"{record['requests_per_second']:,.0f}/s",
            record["requests_per_second"] >= 1000,
        ),
        (
            f"actionRecord: p99 under 100 ms at {record['clients']} connections",
            f"{record['p99_ms']:,.0f} ms",
            record["p99_ms"] < 100,
        ),
        (
            "actionsImport: at least 100,000 actions/s",
            f"{batch['rows_per_second']:,.0f}/s",
            batch["rows_per_second"] >= 100_000,
        ),
    ]
    for way, label in (("computed", "computed"), ("served", "served (cache)")):
        small = smallest if way == "computed" else smallest["served"]
        large = largest if way == "computed" else largest["served"]
        growth = large["p50_ms"] / small["p50_ms"] if small["p50_ms"] else float("inf")
        checks += [
            (
                f"IS totals {label}: p50 under 20 ms at {largest['actions']:,} actions",
                f"{large['p50_ms']:.1f} ms",
                large["p50_ms"] < 20,
            ),
            (
                f"IS totals {label}: p50 at {largest['actions']:,} no more than 1.5x at "
                f"{smallest['actions']:,}",
                f"{growth:.2f}x",
                growth <= 1.5,
            ),
        ]
    peak = max(
        mib for name, mib in report["servers_peak_rss_mib"].items() if name.startswith("w4r")
    )
    checks.append(
        ("memory: under 200 MB resident per worker", f"{peak:.0f} MiB", peak * 1.048576 < 200)
    )
    return [
        "**Targets** (issue 8), this run:",
        "",
        row(["target", "measured", "met"]),
        row(["---"] * 3),
        *(row([name, value, "yes" if met else "no"]) for name, value, met in checks),
    ]


def write_docs(markdown: str) -> None:
    """Replace what is between the markers in docs/performance.md (append them if absent)."""
    write_generated(
        DOCS, "bench/compare.py", markdown, "Side by side: w4r, a floor and PostGraphile"
    )


if __name__ == "__main__":
    main()
