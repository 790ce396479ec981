"""Sending the outbox through SMTP: claimed safely across replicas, retried with backoff.

The outbox is tenant-owned, so the sender visits one section at a time: it lists the
section ids (a global table), binds a transaction to each section in turn, claims that
section's due mail with ``FOR UPDATE SKIP LOCKED``, sends it, records the outcome and
commits. A replica that finds rows locked skips them, so two replicas never send one mail
at the same time; a replica that dies mid-send leaves its rows pending (its transaction
rolls back) and another sends them later: delivery is at least once.

Nothing personal is logged: failures are recorded and logged as an SMTP code and an error
class, never a server message (it often quotes the address).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol
from uuid import UUID

import aiosmtplib

from w4r.mail.models import OutboxMail
from w4r.mail.repository import MailRepository
from w4r.platform.database import Database, TenantBinding
from w4r.platform.outbox import BackgroundLoop
from w4r.platform.outbox import RetryPolicy as RetryPolicy  # the sender is configured with it
from w4r.tenants.repository import SectionRepository

logger = logging.getLogger(__name__)


class PermanentMailError(Exception):
    """The server refused the mail for good (5xx): retrying cannot help."""


class TransientMailError(Exception):
    """The mail could not be handed over now (4xx, connection, timeout): retry later."""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    implicit_tls: bool = False
    timeout_seconds: float = 30.0


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over, or raise PermanentMailError / TransientMailError."""


def _describe(error: BaseException) -> str:
    """An error as it may be stored and logged: its class and SMTP code, no message."""
    code = getattr(error, "code", None)
    return type(error).__name__ if code is None else f"{type(error).__name__} {code}"


class SmtpTransport:
    """One SMTP connection per mail (aiosmtplib)."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage) -> None:
        config = self._config
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.implicit_tls,
                start_tls=False if config.implicit_tls else config.starttls,
                timeout=config.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [response.code for response in error.recipients]
            if codes and all(code >= 500 for code in codes):
                raise PermanentMailError(f"SMTPRecipientsRefused {codes[0]}") from error
            raise TransientMailError(_describe(error)) from error
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                raise PermanentMailError(_describe(error)) from error
            raise TransientMailError(_describe(error)) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TransientMailError(_describe(error)) from error


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(idstring=str(mail.id), domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body or "")
    return message


@dataclass
class DrainReport:
    sections: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    by_section: dict[UUID, tuple[int, int, int]] = field(default_factory=dict)


class OutboxSender:
    def __init__(
        self,
        database: Database,
        transport: MailTransport,
        *,
        sender: str,
        retry: RetryPolicy,
        batch_size: int = 20,
    ) -> None:
        self._database = database
        self._transport = transport
        self._sender = sender
        self._retry = retry
        self._batch_size = batch_size
        self._loop = BackgroundLoop("w4r-mail-sender", self._drain_and_log)

    async def _section_ids(self) -> list[UUID]:
        async with self._database.session(TenantBinding.global_scope()) as session:
            return [row.id for row in await SectionRepository(session).registry()]

    async def drain(self, section_ids: Sequence[UUID] | None = None) -> DrainReport:
        """Send every mail due now, in every section (or those given), once each."""
        report = DrainReport()
        for section_id in section_ids if section_ids is not None else await self._section_ids():
            report.sections += 1
            while True:
                claimed, outcome = await self._drain_batch(section_id)
                sent, retried, failed = outcome
                report.sent += sent
                report.retried += retried
                report.failed += failed
                if claimed:
                    before = report.by_section.get(section_id, (0, 0, 0))
                    report.by_section[section_id] = (
                        before[0] + sent,
                        before[1] + retried,
                        before[2] + failed,
                    )
                if claimed < self._batch_size:
                    break
        return report

    async def _drain_batch(self, section_id: UUID) -> tuple[int, tuple[int, int, int]]:
        sent = retried = failed = 0
        async with self._database.session(TenantBinding.for_section(section_id)) as session:
            repository = MailRepository(session)
            mails = await repository.claim_due(self._batch_size)
            for mail in mails:
                try:
                    await self._transport.send(build_message(mail, self._sender))
                except PermanentMailError as error:
                    await repository.mark_failed(mail.id, str(error))
                    failed += 1
                except TransientMailError as error:
                    attempts = mail.attempts + 1
                    if attempts >= self._retry.max_attempts:
                        await repository.mark_failed(mail.id, str(error))
                        failed += 1
                    else:
                        due = datetime.now(UTC) + self._retry.delay(attempts)
                        await repository.retry_later(mail.id, str(error), due)
                        retried += 1
                else:
                    await repository.mark_sent(mail.id)
                    sent += 1
            await session.commit()
        return len(mails), (sent, retried, failed)

    # --- the background loop of a replica -------------------------------------------------

    def start(self, poll_seconds: float) -> None:
        self._loop.start(poll_seconds)

    def wake(self) -> None:
        """Look for due mail now instead of at the next poll."""
        self._loop.wake()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _drain_and_log(self) -> None:
        report = await self.drain()
        if report.sent or report.retried or report.failed:
            logger.info(
                "mail outbox: %d sent, %d to retry, %d failed",
                report.sent,
                report.retried,
                report.failed,
            )
