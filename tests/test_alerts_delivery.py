"""Alerts delivered: signed webhooks to a real receiver on 127.0.0.1, email through a real SMTP
server (aiosmtpd) on 127.0.0.1, and the Atom feed, parsed."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from serverkit import Hit, Page, PageServer
from test_alerts import DAY, SITE, T0, check, ledger_link, observe, page
from typer.testing import CliRunner

from linkback import alerts as al
from linkback.cli import app
from linkback.fetch import Fetcher, FetchLimits, GuardPolicy
from linkback.server import Settings, create_app
from linkback.server.web._session import FAILED_SIGN_INS
from linkback.store import Store

PUBLIC = "https://links.example.com"
ATOM = "{http://www.w3.org/2005/Atom}"


# --- a webhook receiver and an SMTP server on 127.0.0.1 ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps every message; ``refuse`` answers the next DATA with 451."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def parsed(self, i: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.messages[i][2], policy=email.policy.default)  # type: ignore[return-value]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, al.AlertSettings]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = al.AlertSettings(
        smtp_host="127.0.0.1", smtp_port=port, starttls=False, mail_from="linkback@links.example.com",
        public_url=PUBLIC, smtp_timeout=10,
    )  # fmt: skip
    try:
        yield inbox, settings
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


LOOPBACK = GuardPolicy(allow_private=True)


def two_new_links(store: Store, at: datetime = T0) -> None:
    observe(
        store,
        page("https://blog.org/post", [("https://example.com/a", "Example A", "")], at),
        page("https://news.org/item", [("https://example.com/b", "Example B", "")], at),
    )


def alert_rows(store: Store) -> list[dict[str, Any]]:
    return sorted(al.alerts(store, limit=None), key=lambda a: a["alert_id"])


# --- webhooks -------------------------------------------------------------------------------------


def test_a_webhook_is_signed_and_retried_after_a_failure(store: Store, receiver: PageServer) -> None:
    answers = iter([500, 200])
    receiver.pages["/hook"] = lambda hit: Page(b"", next(answers), {"Content-Type": "text/plain"})
    al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=receiver.url("/hook"), secret="s3cret")
    observe(store, page("https://blog.org/post", [("https://example.com/a", "Example A", "")], T0))
    al.evaluate_alerts(store, now=T0)
    settings = al.AlertSettings(public_url=PUBLIC)
    with Fetcher(policy=LOOPBACK) as fetcher:
        first = al.deliver_alerts(store, fetcher=fetcher, settings=settings, now=T0)
        assert first == {"due": 1, "delivered": 0, "failed": 1, "emails": 0, "evidence_paths": 0}
        (alert,) = alert_rows(store)
        assert (alert["attempts"], alert["last_error"], alert["delivered_at"]) == (1, "HTTP 500", None)
        assert alert["next_attempt_at"] == T0 + timedelta(seconds=10)
        assert al.deliver_alerts(store, fetcher=fetcher, settings=settings, now=T0 + timedelta(seconds=9))["due"] == 0
        later = T0 + timedelta(seconds=11)
        assert al.deliver_alerts(store, fetcher=fetcher, settings=settings, now=later)["delivered"] == 1
    (alert,) = alert_rows(store)
    assert (alert["attempts"], alert["last_error"], alert["delivered_at"], alert["next_attempt_at"]) == (
        2, "", later, None,
    )  # fmt: skip
    assert len(receiver.hits) == 2 and receiver.hits[0].body == receiver.hits[1].body
    hit: Hit = receiver.hits[-1]
    expected = "sha256=" + hmac.new(b"s3cret", hit.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.headers["x-linkback-signature"], expected)
    assert hit.headers["x-linkback-event"] == "alert.new_link" and hit.headers["content-type"] == "application/json"
    sent = json.loads(hit.body)
    assert sent["title"] == alert["title"] and sent["event"] == "new_link" and sent["site"] == SITE
    assert sent["evidence"] == PUBLIC + alert["evidence"] and sent["detail"]["anchor"] == "Example A"
    assert al.deliver_alerts(store, fetcher=None, settings=settings, now=later + DAY)["due"] == 0  # delivered once


def test_a_webhook_to_a_private_address_is_refused_unless_allowed(store: Store, receiver: PageServer) -> None:
    receiver.pages["/hook"] = Page(b"", 204)
    al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=receiver.url("/hook"))
    two_new_links(store)
    al.evaluate_alerts(store, now=T0)
    assert al.deliver_alerts(store, settings=al.AlertSettings(), now=T0)["failed"] == 2
    # The guard refuses it (its port, then its loopback address) before any byte is sent.
    assert all(re.search("is not allowed|loopback", a["last_error"]) for a in alert_rows(store))
    assert receiver.hits == []
    done = al.deliver_alerts(store, settings=al.AlertSettings(), now=T0 + DAY, allow_private=True)
    assert done["delivered"] == 2 and len(receiver.hits) == 2


def test_a_webhook_that_keeps_failing_is_given_up(store: Store, receiver: PageServer) -> None:
    receiver.pages["/hook"] = Page(b"", 503)
    al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=receiver.url("/hook"))
    observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
    al.evaluate_alerts(store, now=T0)
    moment = T0
    with Fetcher(policy=LOOPBACK) as fetcher:
        for _ in range(al.ATTEMPTS):
            assert al.deliver_alerts(store, fetcher=fetcher, settings=al.AlertSettings(), now=moment)["due"] == 1
            moment += timedelta(hours=2)
    (alert,) = alert_rows(store)
    assert alert["attempts"] == al.ATTEMPTS and alert["next_attempt_at"] is None and alert["last_error"] == "HTTP 503"
    assert len(receiver.hits) == al.ATTEMPTS


# --- email ----------------------------------------------------------------------------------------


def test_immediate_email_lists_the_alerts_with_their_evidence(store: Store, smtp: tuple[Inbox, Any]) -> None:
    inbox, settings = smtp
    al.alert_rule_add(store, SITE, "new_link", channel="email", address="me@example.org")
    two_new_links(store)
    al.evaluate_alerts(store, now=T0)
    assert al.deliver_alerts(store, settings=settings, now=T0) == {
        "due": 2,
        "delivered": 2,
        "failed": 0,
        "emails": 1,
        "evidence_paths": 0,
    }
    (mail_from, rcpt, _), message = inbox.messages[0], inbox.parsed()
    assert (mail_from, rcpt) == ("linkback@links.example.com", ["me@example.org"])
    assert message["Subject"] == "linkback: 2 alerts for example.com"
    assert (message["From"], message["To"], message["Auto-Submitted"]) == (
        "linkback@links.example.com", "me@example.org", "auto-generated",
    )  # fmt: skip
    text = message.get_content().replace("\r\n", "\n")
    for alert in alert_rows(store):
        assert f". {alert['title']}\n" in text and f"evidence: {PUBLIC}{alert['evidence']}\n" in text
        assert alert["delivered_at"] == T0 and alert["attempts"] == 1
    # One more: its subject is its title.
    observe(store, page("https://third.org/", [("https://example.com/c", "C", "")], T0 + DAY))
    al.evaluate_alerts(store, now=T0 + DAY)
    al.deliver_alerts(store, settings=settings, now=T0 + DAY)
    # (Python folds a long subject before its encoded word, so unfolded it has two spaces there.)
    subject = " ".join(inbox.parsed()["Subject"].split())
    assert subject == "linkback: New link to https://example.com/c from third.org: “C”"


HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type",
           "Content-Transfer-Encoding", "MIME-Version"}  # fmt: skip


def test_hostile_anchor_text_and_urls_inject_no_header(store: Store, smtp: tuple[Inbox, Any]) -> None:
    inbox, settings = smtp
    rule = al.alert_rule_add(store, SITE, "changed", channel="email", address="me@example.org")
    link_id = ledger_link(store, "https://blog.org/post", "https://example.com/a")
    check(store, link_id, T0 - DAY, "live", anchor="a")
    hostile = "x\r\nBcc: victim@evil.test\r\nSubject: pwned\r\n\r\nfake body"
    check(store, link_id, T0, "changed", "anchor", anchor=hostile, changes={"anchor": ["a", hostile]})
    al.evaluate_alerts(store, now=T0)
    # And a row that did not come through evaluation's cleaning at all.
    store.write(lambda s: s.con.execute(
        "INSERT INTO alerts (alert_id, alert_key, rule_id, site, event, title, detail, evidence, created_at, attempts, "
        "next_attempt_at) VALUES (nextval('alert_id_seq'), 1, ?, ?, 'changed', ?, '{}', ?, ?, 0, ?)",
        [rule["rule_id"], "example.com\nX-Evil: 1", "raw\r\nBcc: victim@evil.test", "/x\r\nBcc: v@evil.test", T0, T0],
    ))  # fmt: skip
    assert al.deliver_alerts(store, settings=settings, now=T0)["delivered"] == 2
    (_, rcpt, raw) = inbox.messages[0]
    message = inbox.parsed()
    assert rcpt == ["me@example.org"] and set(message.keys()) == HEADERS
    assert "pwned" not in message["Subject"] and "\n" not in message["Subject"]
    body = message.get_content().replace("\r\n", "\n")
    assert "\nBcc:" not in body and "\nSubject:" not in body  # every line of it is one of linkback's own
    assert "x Bcc: victim@evil.test Subject: pwned fake body" in body
    header_lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.startswith((b"X-Evil", b"Bcc", b"Subject: pwned")) for line in header_lines)


def test_a_daily_digest_waits_for_midnight_utc(store: Store, smtp: tuple[Inbox, Any]) -> None:
    inbox, settings = smtp
    al.alert_rule_add(store, SITE, "new_link", channel="email", address="me@example.org", schedule="daily")
    two_new_links(store)
    al.evaluate_alerts(store, now=T0)
    midnight = datetime(2024, 5, 2, tzinfo=UTC)
    assert {a["next_attempt_at"] for a in alert_rows(store)} == {midnight}
    assert al.deliver_alerts(store, settings=settings, now=midnight - timedelta(minutes=1))["due"] == 0
    assert inbox.messages == []
    assert al.deliver_alerts(store, settings=settings, now=midnight)["emails"] == 1
    message = inbox.parsed()
    assert message["Subject"] == "linkback daily digest: 2 alerts for example.com"
    text = message.get_content().replace("\r\n", "\n")
    assert text.startswith("Your daily linkback digest: 2 changes to the links of example.com.")
    assert "1. New link to" in text and "2. New link to" in text
    assert al.deliver_alerts(store, settings=settings, now=midnight + DAY)["due"] == 0 and len(inbox.messages) == 1


def test_a_weekly_digest_goes_on_monday(store: Store, smtp: tuple[Inbox, Any]) -> None:
    inbox, settings = smtp
    al.alert_rule_add(store, SITE, "new_link", channel="email", address="me@example.org", schedule="weekly")
    two_new_links(store)
    al.evaluate_alerts(store, now=T0)  # a Wednesday
    assert al.deliver_alerts(store, settings=settings, now=datetime(2024, 5, 5, 23, tzinfo=UTC))["due"] == 0
    assert al.deliver_alerts(store, settings=settings, now=datetime(2024, 5, 6, 0, 5, tzinfo=UTC))["emails"] == 1
    assert inbox.parsed()["Subject"] == "linkback weekly digest: 2 alerts for example.com"


def test_email_failures_say_why_and_are_retried(store: Store, smtp: tuple[Inbox, Any]) -> None:
    inbox, settings = smtp
    al.alert_rule_add(store, SITE, "new_link", channel="email", address="me@example.org")
    observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
    al.evaluate_alerts(store, now=T0)
    assert al.deliver_alerts(store, settings=al.AlertSettings(), now=T0)["failed"] == 1
    assert "no SMTP server: set LINKBACK_SMTP_HOST" in alert_rows(store)[0]["last_error"]
    tls = al.AlertSettings(**{**settings.__dict__, "starttls": True})
    assert al.deliver_alerts(store, settings=tls, now=T0 + DAY)["failed"] == 1
    assert "STARTTLS" in alert_rows(store)[0]["last_error"]
    inbox.refuse = 1
    assert al.deliver_alerts(store, settings=settings, now=T0 + 2 * DAY)["failed"] == 1
    assert "451" in alert_rows(store)[0]["last_error"] and inbox.messages == []
    assert al.deliver_alerts(store, settings=settings, now=T0 + 3 * DAY)["delivered"] == 1
    (alert,) = alert_rows(store)
    assert alert["attempts"] == 4 and alert["last_error"] == "" and len(inbox.messages) == 1


def test_settings_come_from_the_environment() -> None:
    env = {"LINKBACK_SMTP_HOST": "mail.example.com", "LINKBACK_SMTP_PORT": "2525", "LINKBACK_SMTP_USER": "u",
           "LINKBACK_SMTP_PASSWORD": "p", "LINKBACK_SMTP_FROM": "alerts@example.com", "LINKBACK_SMTP_STARTTLS": "0",
           "LINKBACK_PUBLIC_URL": "https://links.example.com/"}  # fmt: skip
    settings = al.AlertSettings.from_env(env)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_password) == (
        "mail.example.com", 2525, "u", "p",
    )  # fmt: skip
    assert (settings.sender, settings.starttls, settings.link("/monitor/3")) == (
        "alerts@example.com", False, "https://links.example.com/monitor/3",
    )  # fmt: skip
    assert al.AlertSettings.from_env({}).starttls is True and al.AlertSettings.from_env({}).smtp_port == 587
    with pytest.raises(ValueError, match="LINKBACK_SMTP_PORT"):
        al.AlertSettings.from_env({"LINKBACK_SMTP_PORT": "smtp"})
    with pytest.raises(ValueError, match="LINKBACK_SMTP_STARTTLS"):
        al.AlertSettings.from_env({"LINKBACK_SMTP_STARTTLS": "maybe"})
    # The server goes on (webhooks still go out); each email fails saying what is wrong.
    lenient = al.AlertSettings.from_env({"LINKBACK_SMTP_HOST": "mail.example.com", "LINKBACK_SMTP_PORT": "x"},
                                        strict=False)  # fmt: skip
    with pytest.raises(al.MailError, match="LINKBACK_SMTP_PORT='x' is not a port number"):
        al.send_mail(EmailMessage(), lenient)


# --- the Atom feed --------------------------------------------------------------------------------

TOKEN = "alerts-admin-token"


def _feed_db(tmp_path: Path) -> tuple[str, str, int]:
    """A database with an atom rule and one alert about a hostile anchor; (path, feed path, link_id)."""
    db = str(tmp_path / "feed.duckdb")
    with Store(db) as store:
        feed = al.alert_rule_add(store, SITE, "changed", channel="atom")["feed"]
        link_id = ledger_link(store, "https://blog.org/post", "https://example.com/a")
        check(store, link_id, T0 - DAY, "live", anchor="a")
        hostile = "</title><script>alert(1)</script> & \x01\x1b"
        check(store, link_id, T0, "changed", "anchor", anchor=hostile, changes={"anchor": ["a", hostile]})
        al.evaluate_alerts(store, now=T0)
    return db, feed, link_id


def test_the_atom_feed_is_valid_escaped_and_opens_only_with_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINKBACK_PUBLIC_URL", raising=False)
    db, feed, link_id = _feed_db(tmp_path)
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN)), base_url="https://links.test") as client:
        resp = client.get(feed)
        assert resp.status_code == 200 and resp.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert b"<script>" not in resp.content and b"&lt;script&gt;" in resp.content
        root = ET.fromstring(resp.content)
        assert root.tag == f"{ATOM}feed"
        assert root.findtext(f"{ATOM}id", "").startswith("urn:uuid:")
        assert root.findtext(f"{ATOM}updated") == "2024-05-01T10:00:00Z"
        assert root.findtext(f"{ATOM}title") == "linkback alerts for example.com"
        (entry,) = root.findall(f"{ATOM}entry")
        title = entry.findtext(f"{ATOM}title", "")
        assert "</title><script>alert(1)</script> &" in title and "\x01" not in title
        assert entry.find(f"{ATOM}link").get("href") == f"https://links.test/monitor/{link_id}"  # type: ignore[union-attr]
        assert entry.findtext(f"{ATOM}id", "").startswith("urn:uuid:") and entry.findtext(f"{ATOM}updated")
        assert "checked_at" in entry.findtext(f"{ATOM}content", "")
        again = ET.fromstring(client.get(feed).content)
        assert again.findtext(f"{ATOM}id") == root.findtext(f"{ATOM}id")  # ids are permanent
        # Anything but the token (or the admin) gets what an unknown feed gets.
        wrong = feed.split("token=")[0] + "token=guess"
        assert client.get(wrong).status_code == client.get(feed.split("?")[0]).status_code == 404
        assert client.get("/feeds/alerts/other.example.atom?token=guess").status_code == 404
        admin = client.get(feed.split("?")[0], headers={"Authorization": f"Bearer {TOKEN}"})
        assert admin.status_code == 200 and admin.content.count(b"<entry>") == 1
    with Store(db) as store:
        (alert,) = al.alerts(store)
        assert alert["delivered_at"] is not None  # read from the feed


def test_wrong_feed_tokens_count_against_the_sign_in_throttle_per_address(tmp_path: Path) -> None:
    db, feed, _ = _feed_db(tmp_path)
    path, right = feed.split("?token=")
    app = create_app(Settings(db=db, admin_token=TOKEN))
    # Loopback is throttled as the sign-in throttles it: like any other address.
    with TestClient(app, client=("127.0.0.1", 50000)) as guesser:
        for _ in range(FAILED_SIGN_INS.burst * 2):  # no token at all is no guess
            assert guesser.get(path).status_code == 404
        for n in range(FAILED_SIGN_INS.burst + 1):
            if n % 2:
                wrong = guesser.get(path, params={"token": f"guess{n}"})
            else:  # a bearer counts too, and so does a guess at a site without a feed
                wrong = guesser.get("/feeds/alerts/other.example.atom", headers={"Authorization": f"Bearer guess{n}"})
            assert wrong.status_code == 404
        # Past the limit the token is not looked at: a right guess tells nothing.
        refused = guesser.get(path, params={"token": right})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "try again in" in refused.text and b"<feed" not in refused.content
        # One counter with the sign-in form's and the API's: guessing here shuts them too.
        signing_in = guesser.post("/do/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
        assert signing_in.status_code == 429
        assert guesser.get("/api/v1/reports/sites", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429
    with TestClient(app, client=("10.9.8.7", 50000)) as reader:
        assert reader.get(feed).status_code == 200


def test_the_atom_builder_drops_what_xml_cannot_carry() -> None:
    rows = [{"alert_id": 1, "alert_key": 5, "event": "new_link", "title": "a\x00b\ufffe c", "detail": '{"x": "\\u0007"}',
             "evidence": "/reports/backlinks?target=a&b=c", "created_at": T0}]  # fmt: skip
    body = al.atom_feed(SITE, rows, feed_id="urn:uuid:x", self_url="https://h/f.atom?token=t", base_url="https://h",
                        now=T0)  # fmt: skip
    root = ET.fromstring(body)
    entry = root.find(f"{ATOM}entry")
    assert entry is not None and entry.findtext(f"{ATOM}title") == "ab c"
    assert entry.find(f"{ATOM}link").get("href") == "https://h/reports/backlinks?target=a&b=c"  # type: ignore[union-attr]
    assert (
        ET.fromstring(al.atom_feed(SITE, [], feed_id="urn:uuid:x", self_url="s", base_url="b", now=T0)).findtext(
            f"{ATOM}updated"
        )
        == "2024-05-01T10:00:00Z"
    )


class Silent:
    """A webhook receiver on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}{path}"

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_hanging_webhook_is_called_once_per_pass_and_other_webhooks_get_theirs(
    store: Store, receiver: PageServer
) -> None:
    silent = Silent()
    try:
        receiver.pages["/hook"] = Page(b"", 204)
        al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=silent.url("/hook"))
        al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=receiver.url("/hook"))
        two_new_links(store)
        al.evaluate_alerts(store, now=T0)
        with Fetcher(policy=LOOPBACK, limits=FetchLimits(timeout=0.5, connect_timeout=0.5)) as fetcher:
            done = al.deliver_alerts(store, fetcher=fetcher, settings=al.AlertSettings(), now=T0)
        assert done == {"due": 4, "delivered": 2, "failed": 2, "emails": 0, "evidence_paths": 2}
        assert len(receiver.hits) == 2
        assert len(silent.accepted) == 1  # its second alert was not sent after the first timed out
        errors = sorted(a["last_error"] for a in alert_rows(store) if a["last_error"])
        assert errors[0].endswith("took longer than 0.5 s")
        assert errors[1] == "not sent: the webhook's host timed out earlier in this delivery pass"
        # Both retried later, as any failure is.
        assert all(a["next_attempt_at"] == T0 + timedelta(seconds=10) for a in alert_rows(store) if a["last_error"])
    finally:
        silent.close()


def test_webhooks_on_different_hosts_are_called_at_once(store: Store) -> None:
    # The first receiver answers only once the second has been called: one after the other, the
    # first would time out waiting.
    second_called = threading.Event()
    with PageServer() as first, PageServer() as second:
        first.pages["/hook"] = lambda hit: (second_called.wait(5), Page(b"", 204))[1]
        second.pages["/hook"] = lambda hit: (second_called.set(), Page(b"", 204))[1]
        al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=first.url("/hook"))
        al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=second.url("/hook"))
        observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
        al.evaluate_alerts(store, now=T0)
        with Fetcher(policy=LOOPBACK, limits=FetchLimits(timeout=2, connect_timeout=2)) as fetcher:
            done = al.deliver_alerts(store, fetcher=fetcher, settings=al.AlertSettings(), now=T0)
    assert done == {"due": 2, "delivered": 2, "failed": 0, "emails": 0, "evidence_paths": 2}


# --- outcomes stored as they come -----------------------------------------------------------------


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` every 20 ms until it holds (True) or ``timeout`` s have passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _delivered(reader: Any, rule: dict[str, Any]) -> bool:
    """Is the rule's alert stored as delivered? Read through ``reader``, a second connection."""
    row = reader.execute("SELECT delivered_at IS NOT NULL FROM alerts WHERE rule_id = ?", [rule["rule_id"]]).fetchone()
    return bool(row[0])


def test_an_outcome_is_stored_at_once_and_a_pass_cut_short_keeps_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Host A answers at once; calling host B, the process dies (KeyboardInterrupt in the POST),
    # but only once A's alert is stored as delivered: the pass stores outcomes as they come.
    reader = store.con.cursor()  # read from the sending thread while the pass runs
    seen: list[bool] = []
    try:
        with PageServer() as first, PageServer() as second:
            first.pages["/hook"] = second.pages["/hook"] = Page(b"", 204)
            rule_a = al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=first.url("/hook"))
            al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=second.url("/hook"))
            observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
            al.evaluate_alerts(store, now=T0)
            with Fetcher(policy=LOOPBACK, limits=FetchLimits(timeout=5, connect_timeout=5)) as fetcher:
                real = fetcher.fetch

                def dying(url: str, **kwargs: Any) -> Any:
                    if url == second.url("/hook"):
                        seen.append(_wait_until(lambda: _delivered(reader, rule_a)))
                        raise KeyboardInterrupt  # kill -9 while calling B
                    return real(url, **kwargs)

                monkeypatch.setattr(fetcher, "fetch", dying)
                with pytest.raises(KeyboardInterrupt):
                    al.deliver_alerts(store, fetcher=fetcher, settings=al.AlertSettings(), now=T0)
                assert seen == [True]  # A's outcome was stored while B was still being called
                a, b = alert_rows(store)
                assert (a["attempts"], a["delivered_at"], a["next_attempt_at"]) == (1, T0, None)
                # B's was never recorded: not an attempt, due as it was.
                assert (b["attempts"], b["delivered_at"], b["next_attempt_at"]) == (0, None, T0)
                monkeypatch.undo()
                again = al.deliver_alerts(store, fetcher=fetcher, settings=al.AlertSettings(), now=T0)
            assert again == {"due": 1, "delivered": 1, "failed": 0, "emails": 0, "evidence_paths": 1}
            assert (len(first.hits), len(second.hits)) == (1, 1)  # A's alert was not sent again
            assert {h.headers["x-linkback-delivery"] for h in first.hits + second.hits} == {
                f"alert-{a['alert_id']}", f"alert-{b['alert_id']}",
            }  # fmt: skip
    finally:
        reader.close()


def test_an_email_goes_and_is_stored_while_a_webhook_host_hangs(store: Store, smtp: tuple[Inbox, Any]) -> None:
    # The webhook's receiver holds its answer until the email has gone and been stored (or 5 s).
    inbox, settings = smtp
    reader = store.con.cursor()
    seen: list[tuple[int, bool]] = []
    try:
        with PageServer() as slow:
            mail = al.alert_rule_add(store, SITE, "new_link", channel="email", address="me@example.org")

            def hanging(hit: Hit) -> Page:
                stored = _wait_until(lambda: _delivered(reader, mail))
                seen.append((len(inbox.messages), stored))
                return Page(b"", 204)

            slow.pages["/hook"] = hanging
            al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=slow.url("/hook"))
            observe(store, page("https://blog.org/post", [("https://example.com/a", "A", "")], T0))
            al.evaluate_alerts(store, now=T0)
            with Fetcher(policy=LOOPBACK, limits=FetchLimits(timeout=10, connect_timeout=5)) as fetcher:
                done = al.deliver_alerts(store, fetcher=fetcher, settings=settings, now=T0)
        assert done == {"due": 2, "delivered": 2, "failed": 0, "emails": 1, "evidence_paths": 0}
        assert seen == [(1, True)]  # while the webhook hung: the email sent, its outcome stored
    finally:
        reader.close()


# --- evidence without the public URL ------------------------------------------------------------


def test_without_the_public_url_the_email_says_where_its_evidence_paths_lead(
    store: Store, smtp: tuple[Inbox, Any]
) -> None:
    inbox, settings = smtp
    al.alert_rule_add(store, SITE, "new_link", channel="email", address="me@example.org")
    two_new_links(store)
    al.evaluate_alerts(store, now=T0)
    done = al.deliver_alerts(store, settings=replace(settings, public_url=""), now=T0)
    assert done == {"due": 2, "delivered": 2, "failed": 0, "emails": 1, "evidence_paths": 2}
    text = inbox.parsed().get_content().replace("\r\n", "\n")
    assert "\n   evidence: /reports/backlinks?target=" in text
    assert "Each evidence is a page of your linkback dashboard (LINKBACK_PUBLIC_URL is not set)." in text


def test_alerts_run_says_to_set_the_public_url_when_evidence_went_out_as_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "alerts.duckdb")
    with PageServer() as receiver:
        receiver.pages["/hook"] = lambda hit: Page(b"", 204)
        with Store(db) as store:
            al.alert_rule_add(store, SITE, "new_link", channel="webhook", address=receiver.url("/hook"))
            two_new_links(store)
            al.evaluate_alerts(store, now=T0)
        monkeypatch.delenv("LINKBACK_PUBLIC_URL", raising=False)
        bare = CliRunner().invoke(app, ["alerts", "run", "--allow-private", "--db", db])
        assert bare.exit_code == 0, bare.output
        assert "delivered 2 of 2 due" in bare.stdout
        assert "2 alerts went out with their evidence as a path on the dashboard, not a link: set " \
               "LINKBACK_PUBLIC_URL" in " ".join(bare.stderr.split())  # fmt: skip
        with Store(db) as store:
            observe(store, page("https://third.org/", [("https://example.com/c", "C", "")], T0 + DAY))
            al.evaluate_alerts(store, now=T0 + DAY)
        monkeypatch.setenv("LINKBACK_PUBLIC_URL", PUBLIC)
        linked = CliRunner().invoke(app, ["alerts", "run", "--allow-private", "--db", db])
        assert linked.exit_code == 0 and "delivered 1 of 1 due" in linked.stdout
        assert "LINKBACK_PUBLIC_URL" not in linked.stderr
        assert json.loads(receiver.hits[-1].body)["evidence"].startswith(PUBLIC + "/")
