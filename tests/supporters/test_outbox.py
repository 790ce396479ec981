"""The mail outbox's sender (real database): sent, retried with backoff, failed for good
(a real SMTP server's 550), and claimed once even by concurrent senders.

The app's own background sender is paused during these tests, so only the sender under
test touches the mail they queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.supporters.conftest import REFUSED_PREFIX, Inbox, LoopbackController
from w4r.cli import main
from w4r.mail.models import MailKind, MailStatus, OutboxMail
from w4r.mail.repository import MailRepository
from w4r.mail.sender import (
    OutboxSender,
    PermanentMailError,
    RetryPolicy,
    SmtpConfig,
    SmtpTransport,
    TransientMailError,
)
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import Database, TenantBinding
from w4r.settings import Settings

NewSection = Callable[..., Awaitable[dict[str, Any]]]
SENDER = "Write for Rights <no-reply@w4r.test>"


class RecordingTransport:
    """Hands nothing over: records each message, or raises ``error``."""

    def __init__(self, error: Exception | None = None, delay: float = 0.0) -> None:
        self.error = error
        self.delay = delay
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        self.sent.append(message)


@pytest.fixture
async def paused_sender(app: Starlette, supporter_settings: Settings) -> AsyncIterator[None]:
    sender: OutboxSender = app.state.mail_sender
    await sender.stop()
    yield
    sender.start(supporter_settings.mail_poll_seconds)


@pytest.fixture
def database(app_engine: AsyncEngine) -> Database:
    return Database(app_engine)


async def queue(database: Database, section_id: UUID, *recipients: str) -> list[UUID]:
    """Pending mail to ``recipients``, committed."""
    async with database.session(TenantBinding.for_section(section_id)) as session:
        repository = MailRepository(session)
        ids = []
        for recipient in recipients:
            mail = await repository.add(
                OutboxMail(
                    kind=MailKind.SIGNATURE_CONFIRMATION,
                    recipient=recipient,
                    subject="Confirm your signature",
                    body="Open the link.",
                    status=MailStatus.PENDING,
                )
            )
            ids.append(mail.id)
        await session.commit()
    return ids


async def state(owner_engine: AsyncEngine, mail_id: UUID) -> tuple[Any, ...]:
    """(status, attempts, has body, last error, seconds until the next attempt)."""
    async with owner_engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "select status, attempts, body is not null, last_error, "
                    "round(extract(epoch from next_attempt_at - now())) "
                    "from mail_outbox where id = :id"
                ),
                {"id": mail_id},
            )
        ).one()
    return (row[0], row[1], row[2], row[3], int(row[4]))


async def make_due(owner_engine: AsyncEngine, mail_id: UUID) -> None:
    async with owner_engine.begin() as connection:
        await connection.execute(
            text("update mail_outbox set next_attempt_at = now() where id = :id"), {"id": mail_id}
        )


def test_the_wait_doubles_after_each_failure_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_seconds=60, max_seconds=600)

    waits = [policy.delay(attempts).total_seconds() for attempts in range(1, 6)]

    assert waits == [60, 120, 240, 480, 600]


@pytest.mark.usefixtures("paused_sender")
async def test_sent_mail_is_marked_sent_and_its_body_cleared(
    new_section: NewSection, database: Database, owner_engine: AsyncEngine
) -> None:
    # given a pending mail
    section_id = UUID((await new_section())["id"])
    [mail_id] = await queue(database, section_id, "ada@example.org")
    transport = RecordingTransport()

    # when the sender drains the section
    report = await OutboxSender(database, transport, sender=SENDER, retry=RetryPolicy()).drain(
        [section_id]
    )

    # then the message went out with its headers, and the row keeps no body
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [message] = transport.sent
    assert (message["To"], message["From"], message["Subject"]) == (
        "ada@example.org",
        SENDER,
        "Confirm your signature",
    )
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content().strip() == "Open the link."
    status, attempts, has_body, error, _ = await state(owner_engine, mail_id)
    assert (status, attempts, has_body, error) == ("sent", 1, False, None)


@pytest.mark.usefixtures("paused_sender")
async def test_a_transient_failure_is_retried_later_then_fails_after_the_last_attempt(
    new_section: NewSection, database: Database, owner_engine: AsyncEngine
) -> None:
    # given a pending mail and a server that is unreachable
    section_id = UUID((await new_section())["id"])
    [mail_id] = await queue(database, section_id, "ada@example.org")
    error = TransientMailError("SMTPServerDisconnected")
    sender = OutboxSender(
        database,
        RecordingTransport(error),
        sender=SENDER,
        retry=RetryPolicy(max_attempts=2, base_seconds=300, max_seconds=3600),
    )

    # when it is tried once
    first = await sender.drain([section_id])

    # then it waits for its next attempt (the body kept for it)
    assert (first.sent, first.retried, first.failed) == (0, 1, 0)
    assert await state(owner_engine, mail_id) == (
        "pending",
        1,
        True,
        "SMTPServerDisconnected",
        300,
    )
    # and a drain before then does not try it
    early = await sender.drain([section_id])
    assert (early.sent, early.retried, early.failed) == (0, 0, 0)

    # when its time comes and the last attempt fails too
    await make_due(owner_engine, mail_id)
    last = await sender.drain([section_id])

    # then it has failed for good
    assert (last.sent, last.retried, last.failed) == (0, 0, 1)
    status, attempts, has_body, message, _ = await state(owner_engine, mail_id)
    assert (status, attempts, has_body, message) == ("failed", 2, False, "SMTPServerDisconnected")


@pytest.mark.usefixtures("paused_sender")
async def test_a_permanent_refusal_of_a_real_smtp_server_fails_at_once(
    new_section: NewSection,
    database: Database,
    owner_engine: AsyncEngine,
    smtp_server: LoopbackController,
    inbox: Inbox,
) -> None:
    # given mail to an address the SMTP server refuses (550) and to one it accepts
    section_id = UUID((await new_section())["id"])
    refused, accepted = f"{REFUSED_PREFIX}ada@example.org", "grace.outbox@example.org"
    refused_id, accepted_id = await queue(database, section_id, refused, accepted)
    transport = SmtpTransport(
        SmtpConfig(host="127.0.0.1", port=smtp_server.port, sender=SENDER, starttls=False)
    )

    # when the sender drains the section through it
    report = await OutboxSender(
        database, transport, sender=SENDER, retry=RetryPolicy(max_attempts=5)
    ).drain([section_id])

    # then the refused one failed for good (no address in the error), the other was sent
    assert (report.sent, report.retried, report.failed) == (1, 0, 1)
    status, attempts, has_body, error, _ = await state(owner_engine, refused_id)
    assert (status, attempts, has_body, error) == ("failed", 1, False, "SMTPRecipientsRefused 550")
    assert (await state(owner_engine, accepted_id))[:3] == ("sent", 1, False)
    assert [message["To"] for message in inbox.to(accepted)] == [accepted]
    assert inbox.to(refused) == []


@pytest.mark.usefixtures("paused_sender")
async def test_a_permanent_error_is_not_retried(
    new_section: NewSection, database: Database, owner_engine: AsyncEngine
) -> None:
    section_id = UUID((await new_section())["id"])
    [mail_id] = await queue(database, section_id, "ada@example.org")

    await OutboxSender(
        database,
        RecordingTransport(PermanentMailError("SMTPResponseException 554")),
        sender=SENDER,
        retry=RetryPolicy(),
    ).drain([section_id])

    status, attempts, _, error, _ = await state(owner_engine, mail_id)
    assert (status, attempts, error) == ("failed", 1, "SMTPResponseException 554")


@pytest.mark.usefixtures("paused_sender")
async def test_concurrent_senders_send_each_mail_once(
    new_section: NewSection, database: Database, owner_engine: AsyncEngine
) -> None:
    # given six pending mails and two replicas' senders, slow to send, claiming two at a time
    section_id = UUID((await new_section())["id"])
    recipients = [f"person-{index}@example.org" for index in range(6)]
    ids = await queue(database, section_id, *recipients)
    transports = [RecordingTransport(delay=0.05), RecordingTransport(delay=0.05)]
    senders = [
        OutboxSender(database, transport, sender=SENDER, retry=RetryPolicy(), batch_size=2)
        for transport in transports
    ]

    # when both drain the section at the same time
    reports = await asyncio.gather(*(sender.drain([section_id]) for sender in senders))

    # then every mail went out exactly once, and both senders took part
    sent = [message["To"] for transport in transports for message in transport.sent]
    assert sorted(sent) == recipients
    assert sum(report.sent for report in reports) == 6
    assert all(transport.sent for transport in transports)
    for mail_id in ids:
        assert (await state(owner_engine, mail_id))[:2] == ("sent", 1)


@pytest.mark.usefixtures("paused_sender")
async def test_a_drain_visits_every_section_bound_to_each_in_turn(
    new_section: NewSection, database: Database
) -> None:
    # given mail waiting in two sections
    first, second = UUID((await new_section())["id"]), UUID((await new_section())["id"])
    await queue(database, first, "first@example.org")
    await queue(database, second, "second@example.org")
    transport = RecordingTransport()

    # when the sender drains without naming sections
    report = await OutboxSender(database, transport, sender=SENDER, retry=RetryPolicy()).drain()

    # then both sections' mail went out (each read under its own binding)
    assert {"first@example.org", "second@example.org"} <= {m["To"] for m in transport.sent}
    assert report.by_section[first][0] == 1
    assert report.by_section[second][0] == 1
    assert report.sections >= 2


@pytest.mark.usefixtures("paused_sender")
async def test_the_send_pending_command_drains_the_outbox_once(
    new_section: NewSection,
    database: Database,
    owner_engine: AsyncEngine,
    smtp_server: LoopbackController,
    inbox: Inbox,
    database_target: DatabaseTarget,
    signing_key_json: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a pending mail and a deployment whose SMTP server is the loopback one
    section_id = UUID((await new_section())["id"])
    recipient = "command.outbox@example.org"
    [mail_id] = await queue(database, section_id, recipient)
    environment = {
        "W4R_DATABASE_URL": database_target.admin_url.render_as_string(hide_password=False),
        "W4R_DATA_DIR": str(tmp_path),
        "W4R_LOCAL_SIGNING_KEY": signing_key_json,
        "W4R_SMTP_HOST": "127.0.0.1",
        "W4R_SMTP_PORT": str(smtp_server.port),
        "W4R_SMTP_STARTTLS": "false",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # when `w4r mail send-pending` runs
    status = await asyncio.to_thread(main, ["mail", "send-pending"])

    # then the mail went out and the command says so
    assert status == 0
    out = capsys.readouterr().out
    assert out.startswith("Mail outbox of ")
    assert out.rstrip().endswith(" 0 failed.")
    assert [message["To"] for message in inbox.to(recipient)] == [recipient]
    assert (await state(owner_engine, mail_id))[:2] == ("sent", 1)
