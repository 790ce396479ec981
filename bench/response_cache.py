"""What a response cache hit costs: in process, and under wrk against uvicorn.

In process: the partner case list (``compare.PARTNER_CASE_LIST``, a partner app's token,
POST) sent straight to the ASGI app, interleaved rounds of cache hits (an app with the cache
on, answer stored) and of executions (an app with the cache off), median microseconds of
this process's CPU per request. Over HTTP: wrk on 127.0.0.1 against w4r under uvicorn (cache
on, so every request after the first is a hit) and against the plain SQL floor, interleaved,
requests/s and the server's CPU per request.

    .venv/bin/python bench/response_cache.py [--requests 2000] [--rounds 3] [--seconds 5] \
        [--no-http] [--output bench/results/response_cache.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS_DIR, Caller, embedded_database, local_issuer, median, serve_w4r
from compare import (
    CASE_LIST_CONNECTIONS,
    PARTNER_CASE_LIST,
    PROFILES,
    Load,
    World,
    libpq_url,
    require_wrk,
    run_wrk,
    serve_floor,
    set_up,
)
from sqlalchemy.engine import URL
from starlette.applications import Starlette

from w4r.app import create_app
from w4r.platform import bootstrap
from w4r.platform.auth import Role
from w4r.settings import Settings


def app_settings(admin_url: URL, signing_key: str, workdir: Path, *, cached: bool) -> Settings:
    return Settings(
        _env_file=None,
        environment="production",
        database_url=admin_url.render_as_string(hide_password=False),
        migrate_on_start=False,
        local_signing_key=signing_key,
        data_dir=workdir / "data",
        log_level="WARNING",
        ip_budget_points=1_000_000_000,
        supporter_hash_key=secrets.token_hex(32),
        webhook_secret_key=secrets.token_hex(32),
        response_cache_enabled=cached,
    )


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Starlette]:
    target = await bootstrap.prepare(settings)
    application = create_app(settings, target=target)
    async with application.router.lifespan_context(application):
        listener = application.state.response_cache_listener
        if listener is not None:
            async with asyncio.timeout(30):
                await listener.wait_connected()
        yield application


async def asgi_post(
    app: Starlette, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    """One POST /graphql straight to the ASGI app: its status and body."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50_000),
        "server": ("127.0.0.1", 8000),
        "app": app,
    }
    delivered = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()  # no disconnect while the answer is being sent
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def cpu_per_request(
    app: Starlette, headers: list[tuple[bytes, bytes]], body: bytes, requests: int
) -> float:
    """Microseconds of this process's CPU per request, ``requests`` in a row."""
    started_at = time.process_time()
    for _ in range(requests):
        status, _answer = await asgi_post(app, headers, body)
        if status != 200:
            raise SystemExit(f"{status}: {_answer[:300]!r}")
    return 1e6 * (time.process_time() - started_at) / requests


async def in_process(
    admin_url: URL, signing_key: str, workdir: Path, world: World, token: str, arguments: Any
) -> dict[str, Any]:
    body = json.dumps(
        {
            "query": PARTNER_CASE_LIST,
            "variables": {
                "year": world.year,
                "language": world.languages[0],
                "first": len(world.case_ids),
            },
        }
    ).encode()
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"accept", b"application/graphql-response+json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    cached_settings = app_settings(admin_url, signing_key, workdir, cached=True)
    uncached_settings = app_settings(admin_url, signing_key, workdir, cached=False)
    results: dict[str, list[float]] = {"hit": [], "executed": []}
    async with started(cached_settings) as cached, started(uncached_settings) as uncached:
        first_status, first = await asgi_post(cached, headers, body)
        _, executed = await asgi_post(uncached, headers, body)
        if first_status != 200 or json.loads(first)["data"] != json.loads(executed)["data"]:
            raise SystemExit("the cached and executed answers differ")
        for number in range(arguments.rounds):
            for name, app in (("hit", cached), ("executed", uncached)):
                count = arguments.requests if name == "hit" else max(arguments.requests // 10, 50)
                results[name].append(await cpu_per_request(app, headers, body, count))
                print(f"in process {name:8} round {number + 1}: {results[name][-1]:8.0f} us CPU")
    return {
        name: {"median_cpu_us": median(values), "rounds_cpu_us": values}
        for name, values in results.items()
    }


def over_http(
    admin_url: URL, signing_key: str, workdir: Path, world: World, token: str, arguments: Any
) -> dict[str, Any]:
    wrk = require_wrk()
    graphql_body = json.dumps(
        {
            "query": PARTNER_CASE_LIST,
            "variables": {
                "year": world.year,
                "language": world.languages[0],
                "first": len(world.case_ids),
            },
        }
    )
    floor_body = json.dumps(
        {"campaign": world.year, "language": world.languages[0], "first": len(world.case_ids)}
    )
    rounds: dict[str, list[Any]] = {"w4r (cache hit)": [], "floor": []}
    with (
        serve_w4r(admin_url, signing_key, workdir) as w4r,
        serve_floor(admin_url, workdir) as floor,
    ):
        loads = {
            "w4r (cache hit)": (
                w4r,
                Load(
                    w4r.base + "/graphql",
                    {
                        "content-type": "application/json",
                        "accept": "application/graphql-response+json",
                        "authorization": f"Bearer {token}",
                    },
                    (graphql_body,),
                    CASE_LIST_CONNECTIONS,
                ),
            ),
            "floor": (
                floor,
                Load(
                    floor.base + "/cases",
                    {"content-type": "application/json", "accept": "application/json"},
                    (floor_body,),
                    CASE_LIST_CONNECTIONS,
                ),
            ),
        }
        answer = httpx.post(
            loads["w4r (cache hit)"][1].url,
            content=graphql_body,
            headers=loads["w4r (cache hit)"][1].headers,
        )
        if answer.status_code != 200 or "errors" in answer.json():
            raise SystemExit(f"w4r: {answer.status_code} {answer.text[:300]}")
        for server, load in loads.values():
            run_wrk(wrk, server, load, 1, workdir)  # warm up (and store the answer)
        for number in range(arguments.rounds):
            for name, (server, load) in loads.items():
                result = run_wrk(wrk, server, load, arguments.seconds, workdir)
                rounds[name].append(result)
                print(
                    f"http {name:16} round {number + 1}: {result.requests_per_second:8.0f} req/s"
                    f"  p99 {result.p99_ms:6.1f} ms  CPU {result.cpu_ms_per_request * 1000:6.0f} us"
                )
    summary: dict[str, Any] = {
        name: {
            "requests_per_second": median([r.requests_per_second for r in results]),
            "p99_ms": median([r.p99_ms for r in results]),
            "cpu_us_per_request": median([1000 * r.cpu_ms_per_request for r in results]),
        }
        for name, results in rounds.items()
    }
    summary["ratio_to_floor"] = (
        summary["w4r (cache hit)"]["requests_per_second"] / summary["floor"]["requests_per_second"]
    )
    return summary


async def prepare_world(admin_url: URL, signing_key: str, issuer: Any, workdir: Path) -> World:
    settings = app_settings(admin_url, signing_key, workdir, cached=False)
    async with started(settings) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            caller = Caller(http, issuer)
            return await set_up(caller, PROFILES["quick"], libpq_url(admin_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "response_cache.json")
    arguments = parser.parse_args()
    signing_key, issuer = local_issuer()
    with embedded_database() as (workdir, admin_url):
        world = asyncio.run(prepare_world(admin_url, signing_key, issuer, workdir))
        token = issuer.issue(Role.PARTNER_APP, ttl_seconds=3600)
        report = {
            "in_process": asyncio.run(
                in_process(admin_url, signing_key, workdir, world, token, arguments)
            )
        }
        if not arguments.no_http:
            with tempfile.TemporaryDirectory(prefix="w4r-wrk-") as directory:
                report["http"] = over_http(
                    admin_url, signing_key, Path(directory), world, token, arguments
                )
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
