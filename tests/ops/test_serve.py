"""``w4r serve``'s production options, and a replica that serves with the app URL only.

No server is started here (tests/test_cli.py runs a real one): uvicorn's ``run`` is replaced
by a recorder, so what the command would start is checked exactly.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from w4r import cli
from w4r.app import create_app
from w4r.platform import bootstrap
from w4r.platform.bootstrap import DatabaseTarget, NoAdminUrlError
from w4r.settings import Settings

SERVER_VARIABLES = (
    "W4R_WORKERS",
    "W4R_PROXY_HEADERS",
    "W4R_FORWARDED_ALLOW_IPS",
    "W4R_LOG_FORMAT",
    "W4R_LOG_LEVEL",
    "W4R_HOST",
    "W4R_PORT",
    "PROMETHEUS_MULTIPROC_DIR",
)


@pytest.fixture
def clean_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No server setting from the machine; anything a test's command exports is undone."""
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("W4R_ENVIRONMENT", "development")


def serve_settings(*options: str) -> Settings:
    """The settings ``w4r serve OPTIONS`` would run with."""
    return cli._settings(cli.build_parser().parse_args(["serve", *options]))


class Recorded:
    """What ``w4r serve`` handed to uvicorn and to the logging setup."""

    def __init__(self) -> None:
        self.run: list[tuple[Any, dict[str, Any]]] = []
        self.logging: list[tuple[str, str | int]] = []
        self.sigterm: list[object] = []


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """uvicorn.run, configure_logging and the SIGTERM handler, recorded, not applied."""
    record = Recorded()
    real_signal = signal.signal

    def fake_run(app: Any, **options: Any) -> None:
        record.run.append((app, options))

    def fake_signal(number: int, handler: Callable[[int, FrameType | None], Any] | int) -> Any:
        if number == signal.SIGTERM:
            record.sigterm.append(handler)
            return signal.getsignal(number)
        return real_signal(number, handler)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(
        cli, "configure_logging", lambda fmt, level: record.logging.append((fmt, level))
    )
    monkeypatch.setattr(signal, "signal", fake_signal)
    return record


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_server_env")
def test_serve_options_override_the_settings() -> None:
    # when every production option is given
    settings = serve_settings(
        "--workers",
        "4",
        "--proxy-headers",
        "--forwarded-allow-ips",
        " 10.0.0.0/8, 192.168.1.7 ,fd00::/8",
        "--log-format",
        "json",
        "--no-migrate",
        "--host",
        "0.0.0.0",
        "--port",
        "9000",
    )

    # then each reaches its setting, the networks normalised
    assert settings.workers == 4
    assert settings.proxy_headers is True
    assert settings.forwarded_allow_ips == "10.0.0.0/8,192.168.1.7,fd00::/8"
    assert settings.log_format_in_use == "json"
    assert settings.migrate_on_start is False
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)


@pytest.mark.usefixtures("clean_server_env")
def test_without_options_the_environment_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the settings in the environment, as the Helm chart's ConfigMap sets them
    monkeypatch.setenv("W4R_WORKERS", "3")
    monkeypatch.setenv("W4R_PROXY_HEADERS", "true")
    monkeypatch.setenv("W4R_FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("W4R_LOG_FORMAT", "text")
    monkeypatch.setenv("W4R_MIGRATE_ON_START", "false")

    # when serve runs without options, then the environment's values hold
    settings = serve_settings()
    assert settings.workers == 3
    assert settings.proxy_headers is True
    assert settings.forwarded_allow_ips == "*"
    assert settings.log_format_in_use == "text"
    assert settings.migrate_on_start is False

    # and an option wins over the environment
    assert serve_settings("--no-proxy-headers").proxy_headers is False


@pytest.mark.usefixtures("clean_server_env")
def test_by_default_no_forwarded_header_is_trusted() -> None:
    # when serve runs with the defaults, then uvicorn takes the peer's address as it is
    options = cli.server_options(serve_settings())

    assert options == {
        "host": "127.0.0.1",
        "port": 8000,
        "log_level": "info",
        "loop": "uvloop",
        "http": "httptools",
        "log_config": None,
        "proxy_headers": False,
        "forwarded_allow_ips": "127.0.0.1",
    }


def test_serve_names_the_fast_event_loop_and_http_parser() -> None:
    # when serve starts uvicorn, then it asks for uvloop and httptools by name (never the
    # pure-Python fallbacks "auto" would quietly pick), and both are installed
    options = cli.server_options(serve_settings())
    config = uvicorn.Config(create_app(serve_settings()), **options)
    config.load()

    assert (options["loop"], options["http"]) == ("uvloop", "httptools")
    assert config.http_protocol_class.__module__ == "uvicorn.protocols.http.httptools_impl"
    loop_factory = config.get_loop_factory()
    assert loop_factory is not None
    assert loop_factory.__module__.startswith("uvloop")


@pytest.mark.parametrize(
    "workers", ["0", "65", "two", "-1"], ids=["zero", "too-many", "word", "negative"]
)
def test_a_bad_worker_count_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    # when serve is given a worker count outside 1..64
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--workers", workers])

    # then argparse exits 2, naming the value
    assert exit_info.value.code == 2
    assert f"{workers!r} is not a number of workers from 1 to 64." in capsys.readouterr().err


def test_a_bad_log_format_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--log-format", "xml"])

    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


@pytest.mark.usefixtures("clean_server_env")
@pytest.mark.parametrize(
    ("value", "entry"),
    [("10.0.0.0/8,proxy.internal", "proxy.internal"), ("300.1.1.1", "300.1.1.1")],
    ids=["host-name", "bad-address"],
)
def test_a_bad_forwarded_network_stops_serve_before_anything_starts(
    recorded: Recorded, tmp_path: Path, value: str, entry: str
) -> None:
    # when serve is given an entry that is no address or network
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--forwarded-allow-ips", value, "--data-dir", str(tmp_path)])

    # then it exits with the setting and the entry named, and nothing was started
    assert exit_info.value.code == (
        f"forwarded_allow_ips: Value error, {entry!r} is neither an IP address nor a network "
        "(e.g. 10.0.0.0/8)"
    )
    assert recorded.run == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("clean_server_env")
def test_several_workers_need_an_external_postgresql(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given no database URL at all
    for name in ("W4R_DATABASE_URL", "W4R_APP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    # when serve is asked for two workers
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--workers", "2", "--data-dir", str(tmp_path)])

    # then it refuses before starting an embedded server
    assert exit_info.value.code == (
        "--workers above 1 needs an external PostgreSQL (W4R_DATABASE_URL or "
        "W4R_APP_DATABASE_URL): the embedded server is for one process."
    )
    assert recorded.run == []
    assert not (tmp_path / "pgdata").exists()


# --- what serve starts -------------------------------------------------------------------


@pytest.mark.usefixtures("clean_server_env")
def test_one_worker_serves_the_app_object_behind_a_proxy(
    recorded: Recorded, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # when serve runs with one worker behind a proxy, on the test database (no migration)
    status = cli.main(
        ["serve", "--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8", "--log-format", "json"]
    )

    # then uvicorn got the app itself, trusting the proxy's network only
    assert status == 0
    [(app, options)] = recorded.run
    assert isinstance(app, Starlette)
    assert options == {
        "host": "127.0.0.1",
        "port": 8000,
        "log_level": "info",
        "loop": "uvloop",
        "http": "httptools",
        "log_config": None,
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.0/8",
    }
    # and logs are JSON, and SIGTERM ends the process normally
    assert recorded.logging == [("json", "INFO")]
    assert recorded.sigterm == [cli._exit_on_sigterm]
    printed = capsys.readouterr().out
    assert "GraphQL endpoint: http://127.0.0.1:8000/graphql" in printed
    assert "Dashboard: http://127.0.0.1:8000/dashboard" in printed
    # and GraphiQL's address when this deployment serves it
    shows_graphiql = "GraphiQL: http://127.0.0.1:8000/graphql in a browser" in printed
    assert shows_graphiql == Settings().graphql_ide_enabled


@pytest.mark.usefixtures("clean_server_env")
def test_several_workers_build_the_app_from_the_factory(
    recorded: Recorded, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given migrations on start in the environment (every variable the command exports is
    # restored after the test: the fixtures set or removed each through monkeypatch)
    monkeypatch.setenv("W4R_MIGRATE_ON_START", "true")
    data_dir = cli_env / "served"

    # when serve runs with three workers (and is told not to migrate)
    status = cli.main(
        [
            *("serve", "--workers", "3", "--no-migrate", "--log-format", "text"),
            *("--data-dir", str(data_dir), "--host", "0.0.0.0"),
        ]
    )

    # then uvicorn got the factory's import string and the worker count
    assert status == 0
    [(app, options)] = recorded.run
    assert app == cli.WORKER_APP == "w4r.cli:worker_app"
    assert options["factory"] is True
    assert options["workers"] == 3
    assert options["host"] == "0.0.0.0"
    assert options["proxy_headers"] is False
    # and the workers will see this command line's choices, and will not migrate
    assert os.environ["W4R_DATA_DIR"] == str(data_dir)
    assert os.environ["W4R_LOG_FORMAT"] == "text"
    assert os.environ["W4R_LOG_LEVEL"] == "INFO"
    assert os.environ["W4R_MIGRATE_ON_START"] == "false"

    # when a worker builds its app from that environment
    worker = cli.worker_app()

    # then it is the application, with logs set up in the worker too
    assert isinstance(worker, Starlette)
    assert recorded.logging == [("text", "INFO"), ("text", "INFO")]


# --- a replica with the app URL only -----------------------------------------------------


def app_url_only(monkeypatch: pytest.MonkeyPatch, target: DatabaseTarget) -> None:
    """The environment of a Kubernetes server pod: the app URL, no admin URL."""
    monkeypatch.delenv("W4R_DATABASE_URL", raising=False)
    monkeypatch.delenv("W4R_DATABASE_APP_PASSWORD", raising=False)
    monkeypatch.setenv("W4R_APP_DATABASE_URL", target.app_url.render_as_string(hide_password=False))


@pytest.mark.parametrize("freeze", [True, False], ids=["on", "off"])
async def test_start_up_freezes_what_it_built_when_asked(
    settings: Settings, database_target: DatabaseTarget, freeze: bool
) -> None:
    # given an app with W4R_GC_FREEZE on or off, and nothing frozen yet
    app = create_app(settings.model_copy(update={"gc_freeze": freeze}), target=database_target)
    gc.unfreeze()
    try:
        # when it has started, then what start-up built is out of the collector's reach
        # only when asked
        async with app.router.lifespan_context(app):
            assert (gc.get_freeze_count() > 0) is freeze
    finally:
        gc.unfreeze()  # a test process builds many apps: let the collector see them again


async def test_a_replica_with_only_the_app_url_serves_without_an_embedded_server(
    cli_env: Path, database_target: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a pod's environment: the app role's URL and no migration
    app_url_only(monkeypatch, database_target)

    # when its database target is resolved (settings from the environment)
    settings = Settings()
    target = bootstrap.resolve_target(settings)

    # then it connects as the app role, with no embedded server and no admin URL of its own
    assert target.embedded is None
    assert target.app_url == database_target.app_url
    assert target.admin_url == target.app_url
    assert not (cli_env / "pgdata").exists()

    # and it is ready: the database answers and the schema is at head
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
            response = await client.get("/readyz")
    assert response.status_code == 200, response.text


async def test_migrating_on_start_with_only_the_app_url_is_refused(
    cli_env: Path, database_target: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the app URL only, and migrations on start asked for
    app_url_only(monkeypatch, database_target)
    monkeypatch.setenv("W4R_MIGRATE_ON_START", "true")

    # when the database is prepared, then it is refused with the fix, before connecting
    with pytest.raises(NoAdminUrlError, match="set W4R_MIGRATE_ON_START=false"):
        await bootstrap.prepare(Settings())


def test_migrate_refuses_the_app_url(
    cli_env: Path, database_target: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the app URL only
    app_url_only(monkeypatch, database_target)

    # when migrate runs, then it exits saying migrations need the admin URL
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["migrate"])
    assert exit_info.value.code == (
        "W4R_DATABASE_URL is not set: migrations run with the admin URL (a role that may "
        "create roles), never with W4R_APP_DATABASE_URL."
    )


# --- the client's address behind a proxy -------------------------------------------------


async def client_host_seen(settings: Settings, peer: str, forwarded_for: str) -> str:
    """The ``request.client.host`` an app sees through uvicorn's configuration for
    ``settings``, for a request from ``peer`` carrying ``X-Forwarded-For``."""

    async def echo(request: Request) -> PlainTextResponse:
        assert request.client is not None
        return PlainTextResponse(request.client.host)

    options = cli.server_options(settings)
    options.pop("log_config")
    config = uvicorn.Config(Starlette(routes=[Route("/", echo)]), log_config=None, **options)
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://w4r") as client:
        response = await client.get("/", headers={"x-forwarded-for": forwarded_for})
    return response.text


@pytest.mark.usefixtures("clean_server_env")
async def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address() -> None:
    settings = serve_settings("--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8")

    # a request through the ingress controller (10.1.2.3) is the real client's
    assert await client_host_seen(settings, "10.1.2.3", "203.0.113.7") == "203.0.113.7"
    # a client cannot put another address in front of its own
    assert (
        await client_host_seen(settings, "10.1.2.3", "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    )
    # a peer outside the trusted network is taken as it is, whatever it claims
    assert await client_host_seen(settings, "198.51.100.9", "203.0.113.7") == "198.51.100.9"


@pytest.mark.usefixtures("clean_server_env")
async def test_without_proxy_headers_the_forwarded_address_is_ignored() -> None:
    settings = serve_settings()

    assert await client_host_seen(settings, "127.0.0.1", "203.0.113.7") == "127.0.0.1"
