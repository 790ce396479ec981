"""Real app servers for tests that need a socket: uvicorn on 127.0.0.1 in this event loop.

Websocket clients, other people's tools (the graphql-http audit, a federation gateway, a
graphql-ws client) and multi-replica tests talk to a real listening server, not to the ASGI
app in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import uvicorn
from starlette.applications import Starlette

from w4r.app import create_app
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings

STARTUP_TIMEOUT_SECONDS: Final = 20.0


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now, for a process that must be told its port
    (PgBouncer, a server in a subprocess); an app in this process binds port 0 instead."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningServer:
    """One app instance served by uvicorn on 127.0.0.1, as a task of this event loop."""

    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def port(self) -> int:
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


async def start_server(settings: Settings, target: DatabaseTarget) -> RunningServer:
    app = create_app(settings, target=target)
    # port 0: the OS picks a free port at bind time (no race with other processes)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="w4r-test-uvicorn")
    running = RunningServer(app=app, server=server, task=task)
    async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
        while not server.started:  # uvicorn exposes a flag only: poll it
            if task.done():
                task.result()  # raises what stopped it
                raise AssertionError("the server stopped during startup (see its log)")
            await asyncio.sleep(0.02)
        # the lifespan starts the totals listener without waiting: use the server once it listens
        await app.state.graphql_services.hub.wait_connected()
    return running


async def stop_server(running: RunningServer) -> None:
    running.server.should_exit = True
    await running.task


@contextlib.asynccontextmanager
async def serving(settings: Settings, target: DatabaseTarget) -> AsyncIterator[RunningServer]:
    """A server for the duration of the block."""
    running = await start_server(settings, target)
    try:
        yield running
    finally:
        await stop_server(running)
