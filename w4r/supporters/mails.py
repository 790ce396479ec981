"""The texts of supporters' mails (English; a section's own wording can replace them).

Every mail carries a consent withdrawal link as well, so stopping is always one click from
any mail we send.
"""

from __future__ import annotations

from dataclasses import dataclass

from w4r.mail.models import MailKind


@dataclass(frozen=True, slots=True)
class MailText:
    kind: MailKind
    subject: str
    body: str


def link(template: str, *, section: str, action: str, token: str) -> str:
    return template.format(section=section, action=action, token=token)


def _footer(withdraw_link: str, withdraw_token: str) -> str:
    return (
        "\n\nTo withdraw your consent at any time, open:\n"
        f"{withdraw_link}\n"
        f"(or give this code where asked: {withdraw_token})\n\n"
        "If this was not you, ignore this mail: nothing will count or be kept in your name "
        "beyond the confirmation period."
    )


def signature_confirmation(
    *, confirm_link: str, confirm_token: str, withdraw_link: str, withdraw_token: str
) -> MailText:
    return MailText(
        kind=MailKind.SIGNATURE_CONFIRMATION,
        subject="Confirm your signature",
        body=(
            "Thank you for signing the Write for Rights petition.\n\n"
            "Your signature counts once you confirm your email address:\n"
            f"{confirm_link}\n"
            f"(or give this code where asked: {confirm_token})"
            + _footer(withdraw_link, withdraw_token)
        ),
    )


def consent_confirmation(
    *, confirm_link: str, confirm_token: str, withdraw_link: str, withdraw_token: str
) -> MailText:
    return MailText(
        kind=MailKind.CONSENT_CONFIRMATION,
        subject="Confirm your email address",
        body=(
            "Please confirm your email address to complete your request:\n"
            f"{confirm_link}\n"
            f"(or give this code where asked: {confirm_token})"
            + _footer(withdraw_link, withdraw_token)
        ),
    )


def consent_withdrawal(*, withdraw_link: str, withdraw_token: str) -> MailText:
    return MailText(
        kind=MailKind.CONSENT_WITHDRAWAL,
        subject="Withdraw your consent",
        body=(
            "You asked to withdraw your consent. Open this link to confirm:\n"
            f"{withdraw_link}\n"
            f"(or give this code where asked: {withdraw_token})\n\n"
            "If this was not you, ignore this mail: nothing changes."
        ),
    )
