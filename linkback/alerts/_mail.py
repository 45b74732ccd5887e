"""Alert email: the settings (SMTP server, sender, the public URL evidence links start with),
the message for one or many alerts, and sending it with :mod:`smtplib`.

Every setting can come from the environment (:meth:`AlertSettings.from_env`), which is where
``linkback serve`` and ``linkback alerts run`` read them:

======================== ==========================================================
``LINKBACK_SMTP_HOST``    the SMTP server (no email is sent without one)
``LINKBACK_SMTP_PORT``    its port (587)
``LINKBACK_SMTP_USER``    the login, if the server wants one
``LINKBACK_SMTP_PASSWORD`` its password
``LINKBACK_SMTP_FROM``    the sender address (``linkback@`` the SMTP server's domain)
``LINKBACK_SMTP_STARTTLS`` ``1`` (the default) to upgrade to TLS before logging in; ``0`` not to
``LINKBACK_PUBLIC_URL``   where people reach this linkback (``https://links.example.com``):
                          evidence links in emails and webhooks start with it
======================== ==========================================================
"""

from __future__ import annotations

import email.policy
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from linkback.alerts._events import clean_line
from linkback.alerts._rules import email_address
from linkback.errors import LinkbackError
from linkback.urls import public_url

#: Longest subject, in characters (before its encoding).
SUBJECT_CHARS = 200


class MailError(LinkbackError):
    """An alert email could not be sent (no server set, refused, unreachable)."""


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={text!r}: give 1 or 0")


@dataclass(frozen=True)
class AlertSettings:
    """Where alert email goes out, and the address evidence links start with."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = ""
    starttls: bool = True
    public_url: str = ""
    smtp_timeout: float = 30.0
    #: Why the settings cannot send email (a variable set wrong): each email fails saying so.
    problem: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, strict: bool = True) -> AlertSettings:
        """The settings the ``LINKBACK_SMTP_*`` and ``LINKBACK_PUBLIC_URL`` variables give (see the
        module). A variable set wrong is a ValueError, or with ``strict`` False (the server, which
        must go on delivering webhooks) the reason every email then fails with."""
        env = os.environ if env is None else env
        try:
            port = env.get("LINKBACK_SMTP_PORT", "").strip()
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"LINKBACK_SMTP_PORT={port!r} is not a port number")
            starttls = env.get("LINKBACK_SMTP_STARTTLS", "")
            tls = _flag("LINKBACK_SMTP_STARTTLS", starttls) if starttls.strip() else True
        except ValueError as exc:
            if strict:
                raise
            port, tls, problem = "", True, str(exc)
        else:
            problem = ""
        return cls(
            smtp_host=env.get("LINKBACK_SMTP_HOST", "").strip(),
            smtp_port=int(port) if port else 587,
            smtp_user=env.get("LINKBACK_SMTP_USER", ""),
            smtp_password=env.get("LINKBACK_SMTP_PASSWORD", ""),
            mail_from=env.get("LINKBACK_SMTP_FROM", "").strip(),
            starttls=tls,
            public_url=public_url(env),
            problem=problem,
        )

    @property
    def sender(self) -> str:
        return self.mail_from or f"linkback@{self.smtp_host or 'localhost'}"

    def link(self, path: str) -> str:
        """``path`` (a dashboard path) as a link: absolute when the public URL is known."""
        return self.public_url + path if self.public_url and path.startswith("/") else path


def _sites(alerts: list[dict[str, Any]]) -> str:
    sites = sorted({str(a["site"]) for a in alerts})
    return ", ".join(sites[:3]) + (f" and {len(sites) - 3} more" if len(sites) > 3 else "")


def subject(alerts: list[dict[str, Any]], schedule: str) -> str:
    n = len(alerts)
    if schedule in ("daily", "weekly"):
        text = f"linkback {schedule} digest: {n} alert{'s' * (n != 1)} for {_sites(alerts)}"
    elif n == 1:
        text = "linkback: " + str(alerts[0]["title"])
    else:
        text = f"linkback: {n} alerts for {_sites(alerts)}"
    return clean_line(text, SUBJECT_CHARS)


def body(alerts: list[dict[str, Any]], schedule: str, settings: AlertSettings) -> str:
    """The plain-text body: one numbered entry per alert, with where its evidence is."""
    n = len(alerts)
    changes = f"{n} change{'s' * (n != 1)}"
    if schedule in ("daily", "weekly"):
        lines = [f"Your {schedule} linkback digest: {changes} to the links of {_sites(alerts)}.", ""]
    else:
        lines = [f"linkback found {changes} to the links of {_sites(alerts)}.", ""]
    for i, alert in enumerate(alerts, start=1):
        when = alert["created_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines += [
            f"{i}. {clean_line(alert['title'])}",
            f"   {clean_line(alert['site'])} · {alert['event']} · found {when}",
            f"   evidence: {clean_line(settings.link(str(alert['evidence'] or '')), 2000)}",
            "",
        ]
    rules = ", ".join(str(r) for r in sorted({a["rule_id"] for a in alerts}))
    if not settings.public_url:
        lines += ["Each evidence is a page of your linkback dashboard (LINKBACK_PUBLIC_URL is not set).", ""]
    lines += [
        "-- ",
        f"Sent by linkback for alert rule {rules}. 'linkback alerts list' shows every alert;",
        "'linkback alerts remove RULE' stops a rule.",
    ]
    return "\n".join(lines) + "\n"


def compose(
    alerts: list[dict[str, Any]], *, to: str, schedule: str, settings: AlertSettings, now: datetime
) -> EmailMessage:
    """The message for ``alerts`` to ``to``. Every header value is checked or made one clean line:
    nothing in an anchor text or URL can add a header or a recipient."""
    sender = email_address(settings.sender)
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = email_address(to)
    message["Subject"] = subject(alerts, schedule)
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = make_msgid("linkback.alert", domain=sender.rsplit("@", 1)[1])
    # RFC 3834: an automatic message, so that responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body(alerts, schedule, settings))
    return message


def send_mail(message: EmailMessage, settings: AlertSettings) -> None:
    """Hand ``message`` to the SMTP server; :class:`MailError` saying why when it cannot."""
    if settings.problem:
        raise MailError(settings.problem)
    if not settings.smtp_host:
        raise MailError("no SMTP server: set LINKBACK_SMTP_HOST (and LINKBACK_SMTP_FROM) for alert email")
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{where}: {clean_line(exc, 300) or type(exc).__name__}") from exc
    if refused:
        raise MailError(f"{where} refused {', '.join(sorted(refused))}")
