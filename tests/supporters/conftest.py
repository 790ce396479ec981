"""Fixtures of the supporters tests: an SMTP server on loopback that keeps what it gets,
and an app of their own that sends supporters' mail to it.

The app's public-write allowances are raised so that a test's many signatures from one
test client are never held back as abuse (screening is tested with its own hook)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette

from w4r.app import create_app
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings

MAIL_WAIT_SECONDS = 15.0
REFUSED_PREFIX = "refused-"
TOKEN_IN_LINK = re.compile(r"/supporters/(confirm|withdraw)#token=([A-Za-z0-9_-]+)")


class Inbox:
    """What the SMTP server received (appended from its thread, read from the tests)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        """Refuse for good every address that starts with ``refused-``."""
        if address.startswith(REFUSED_PREFIX):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    async def wait_for(self, address: str, count: int = 1) -> list[EmailMessage]:
        """The first ``count`` messages to ``address``, waiting for the sender to send them."""
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail to {address} arrived"
            await asyncio.sleep(0.05)
        return self.to(address)[:count]


def links(message: EmailMessage) -> dict[str, str]:
    """The tokens of a mail's links, by action (confirm, withdraw)."""
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    return dict(TOKEN_IN_LINK.findall(text))


class LoopbackController(Controller):
    """aiosmtpd's controller on a port the system chooses (port 0)."""

    def _trigger_server(self) -> None:
        server = self.server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="package")
def smtp_server() -> Iterator[LoopbackController]:
    """A real SMTP server on 127.0.0.1 at a free port; its handler is an :class:`Inbox`."""
    controller = LoopbackController(Inbox(), hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture(scope="package")
def inbox(smtp_server: LoopbackController) -> Inbox:
    received: Inbox = smtp_server.handler
    return received


@pytest.fixture(scope="package")
def supporter_settings(settings: Settings, smtp_server: LoopbackController) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_starttls": False,
            "smtp_from": "Write for Rights <no-reply@w4r.test>",
            "mail_poll_seconds": 0.2,
            "public_signatures_per_ip": 1_000_000,
            "public_signatures_per_section": 1_000_000,
            "public_registrations_per_ip": 1_000_000,
        }
    )


@pytest.fixture(scope="package")
async def app(
    supporter_settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """The app of this package's tests (it replaces the session's app here)."""
    application = create_app(supporter_settings, target=database_target)
    async with application.router.lifespan_context(application):
        yield application
