"""One PostgreSQL LISTEN connection, kept open: reconnects after a loss, with back-off.

Used by the live totals (w4r.totals.live) and the response cache's invalidation
(w4r.platform.response_cache). Notifications sent while no one listened are lost, so each
user is told when a connection starts and ends and assumes anything changed in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final, NoReturn

import asyncpg  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

RECONNECT_SECONDS: Final = (0.5, 1.0, 2.0, 5.0)
"""Waits between connection attempts: the last one repeats."""


async def connect(dsn: str) -> Any:
    """A new connection for listening (tests replace it to make the database unreachable)."""
    return await asyncpg.connect(dsn)


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    def set_event(_connection: Any) -> None:
        event.set()

    return set_event


async def listen_forever(
    dsn: str,
    channel: str,
    on_notify: Callable[[Any, int, str, str], None],
    *,
    name: str,
    connected: Callable[[int], None],
    disconnected: Callable[[], None],
) -> NoReturn:
    """LISTEN on ``channel`` until cancelled. ``connected`` gets the server process id of
    each new connection once it listens; ``disconnected`` runs when one ends."""
    attempt = 0
    while True:
        try:
            connection = await connect(dsn)
        except (OSError, asyncpg.PostgresError) as error:
            delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
            logger.warning("%s listener cannot connect (%s); retrying in %ss", name, error, delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        attempt = 0
        lost = asyncio.Event()
        connection.add_termination_listener(_setter(lost))
        try:
            await connection.add_listener(channel, on_notify)
            connected(connection.get_server_pid())
            await lost.wait()
            logger.warning("%s listener lost its connection; reconnecting", name)
        finally:
            disconnected()
            with contextlib.suppress(Exception):
                await connection.close()
