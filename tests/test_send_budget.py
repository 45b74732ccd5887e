"""The time budget of one ``linkback send`` run: once it is spent nothing more is fetched, each
target left is a ``skipped`` failure for the next run, and every fetch's timeout is cut to the
time left. Real pages on 127.0.0.1; the run's clock is a fake one that each fetch moves on by
``STEP`` seconds, so no test waits for a budget but the one that checks the cut for real."""

from __future__ import annotations

import inspect
import json
import math
import shlex
import threading
import time
from pathlib import Path

import pytest
import typer.main
from fastapi.testclient import TestClient
from serverkit import Hit, Page, PageServer, loopback_resolver, wait_for
from test_send import post_page, rss
from typer.testing import CliRunner

from linkback import jobs
from linkback.cli import app
from linkback.faces import load_all
from linkback.fetch import Fetcher, FetchLimits, GuardPolicy
from linkback.send import DEFAULT_BUDGET, Sender, SendOptions, send_feed
from linkback.send import _sender as sender_module
from linkback.send._history import source_state
from linkback.send._sender import transient_failure
from linkback.server import Settings, create_app
from linkback.server.api._types import body_model
from linkback.server.web import _manage
from linkback.store import Store

#: Seconds of the fake clock each fetch takes.
STEP = 30.0
SPENT = "skipped: time budget of 100 s spent; run again to send the rest"
TOKEN = "budget-token"


class Clock:
    """A monotonic clock that moves only when a fetch moves it."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


class SlowFetcher(Fetcher):
    """The real fetcher, on 127.0.0.1, each of whose fetches takes ``STEP`` seconds of ``clock``;
    it keeps the limits each fetch was given."""

    def __init__(self, clock: Clock, limits: FetchLimits = FetchLimits()) -> None:
        super().__init__(policy=GuardPolicy(allow_private=True), resolver=loopback_resolver, limits=limits)
        self.clock = clock
        self.given: list[FetchLimits | None] = []

    def fetch(self, url: str, **kwargs):  # noqa: ANN003, ANN201
        self.given.append(kwargs.get("limits"))
        try:
            return super().fetch(url, **kwargs)
        finally:
            self.clock.now += STEP


@pytest.fixture
def web():
    with PageServer() as server:
        yield server


@pytest.fixture
def store():
    with Store(":memory:") as s:
        yield s


def make_sender(store: Store, fetcher: Fetcher, clock: Clock | None = None, budget: float = 100) -> Sender:
    return Sender(
        fetcher,
        read=lambda fn: fn(store.con),
        write=lambda fn: fn(store.con),
        options=SendOptions(backoff=0.01, attempts=2, budget=budget),
        clock=clock,
    )


def hits_on(web: PageServer, host: str) -> int:
    return sum(1 for hit in web.hits if hit.host == host)


def no_endpoint_targets(web: PageServer, count: int) -> list[str]:
    """Targets on hosts of their own (so that no host is closed), none with an endpoint."""
    web.pages["/page"] = Page("<p>no endpoint here</p>")
    return [web.url("/page", f"host{i}.test") for i in range(count)]


# --- one post ------------------------------------------------------------------------------------


def test_once_the_budget_is_spent_the_targets_left_are_skipped_and_never_fetched(web, store) -> None:
    clock = Clock()
    fetcher = SlowFetcher(clock, FetchLimits(timeout=40, connect_timeout=20))
    targets = no_endpoint_targets(web, 5)
    web.pages["/post"] = post_page(*targets)
    # The post at 0 s, the targets at 30, 60 and 90 s; at 120 s the budget of 100 is spent.
    result = make_sender(store, fetcher, clock).send_post(web.url("/post", "me.test"))
    assert [(r.target, r.status, r.reason, r.attempts) for r in result.records] == [
        *((t, "no_endpoint", "", 0) for t in targets[:3]),
        *((t, "failed", SPENT, 0) for t in targets[3:]),
    ]
    assert [hits_on(web, f"host{i}.test") for i in range(5)] == [1, 1, 1, 0, 0]
    assert result.not_tried == 2 and result.status == "sent"
    assert result.retry and all(transient_failure(r) for r in result.records[3:])  # the next run tries them
    stored = store.con.execute("SELECT count(*) FROM sends WHERE reason = ?", [SPENT]).fetchone()[0]
    assert stored == 2
    # Each fetch may take the time left, and no more: 10 s for the last one.
    assert [(lim.timeout, lim.connect_timeout) for lim in fetcher.given] == [(40, 20), (40, 20), (40, 20), (10, 10)]


def test_a_post_not_yet_fetched_when_the_budget_ran_out_is_skipped_whole(web, store) -> None:
    clock = Clock()
    web.pages["/post"] = post_page(*no_endpoint_targets(web, 1))
    sender = make_sender(store, SlowFetcher(clock), clock)
    clock.now += 100
    result = sender.send_post(web.url("/post", "me.test"))
    assert (result.status, result.records, result.retry) == ("skipped", [], True)
    assert web.hits == []


def test_a_post_whose_targets_were_all_left_is_no_failure_of_the_job(web, store) -> None:
    clock = Clock()
    web.pages["/post"] = post_page(*no_endpoint_targets(web, 3))
    result = make_sender(store, SlowFetcher(clock), clock, budget=STEP).send_post(web.url("/post", "me.test"))
    assert [r.reason for r in result.records] == ["skipped: time budget of 30 s spent; run again to send the rest"] * 3
    messages: list[dict[str, str]] = []
    assert jobs._post_messages(result, messages) == 0 and messages == []


def test_a_hanging_target_is_cut_at_the_budget_not_at_its_timeout(web, store) -> None:
    """The one real wait: a tarpit, a fetch timeout of 10 s and a budget of 0.5 s."""
    release = threading.Event()
    calls = []

    def hang(hit: Hit) -> Page:
        calls.append(hit)
        release.wait(30)
        return Page(b"too late", 200, {"Content-Type": "text/plain"})

    web.pages["/hang"] = hang
    web.pages["/page"] = Page("<p>no endpoint</p>")
    web.pages["/post"] = post_page(web.url("/hang", "a-tarpit.test"), web.url("/page", "b.test"))
    fetcher = Fetcher(policy=GuardPolicy(allow_private=True), resolver=loopback_resolver)
    assert fetcher.limits.timeout == 10
    try:
        started = time.monotonic()
        result = make_sender(store, fetcher, budget=0.5).send_post(web.url("/post", "me.test"))
        elapsed = time.monotonic() - started
    finally:
        release.set()
    hanging, left = result.records
    # Cut short by the budget, not failed: tried again by the next run, and no failure of this one.
    assert hanging.reason == left.reason == "skipped: time budget of 0.5 s spent; run again to send the rest"
    assert len(calls) == 1 and result.not_tried == 2  # no second try past the budget
    assert hits_on(web, "b.test") == 0
    assert 0.4 < elapsed < 1.5


def test_a_post_whose_fetch_the_budget_cuts_short_is_skipped_not_failed(web, store) -> None:
    release = threading.Event()
    web.pages["/post"] = lambda hit: (release.wait(30), Page("<p>late</p>"))[1]
    fetcher = Fetcher(policy=GuardPolicy(allow_private=True), resolver=loopback_resolver)
    try:
        result = make_sender(store, fetcher, budget=0.3).send_post(web.url("/post", "me.test"))
    finally:
        release.set()
    assert (result.status, result.error, result.retry) == ("skipped", "", True)
    messages: list = []
    assert jobs._post_messages(result, messages) == 0  # no failure: the next run sends for it


# --- feeds ---------------------------------------------------------------------------------------


def test_a_feed_run_out_of_time_lists_the_entries_it_left_and_the_next_run_sends_them(web, store) -> None:
    clock = Clock()
    posts = [web.url(f"/p{i}", "me.test") for i in (1, 2, 3)]
    for i in (1, 2, 3):
        web.pages[f"/p{i}"] = post_page(web.url(f"/t{i}", "them.test"))
        web.pages[f"/t{i}"] = Page("<p>no endpoint</p>")
    web.pages["/feed.xml"] = Page(
        rss(*((url, f"Post {i}", f"Mon, 0{i} Nov 2026 10:00:00 GMT") for i, url in enumerate(posts, 1))),
        headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'},
    )
    feed_url = web.url("/feed.xml", "me.test")
    # The feed at 0 s, post 1 at 30 and its target at 60, post 2 at 90; then the budget is spent.
    first = send_feed(make_sender(store, SlowFetcher(clock), clock), feed_url)
    assert [p.url for p in first.posts] == posts[:2] and first.not_fetched == [posts[2]]
    assert [r.reason for r in first.posts[1].records] == [SPENT] and first.retry == 1
    assert source_state(store.con, feed_url)["etag"] == ""  # the feed is read in full next time
    second = send_feed(make_sender(store, SlowFetcher(Clock()), budget=DEFAULT_BUDGET), feed_url)
    assert not second.not_modified and second.unchanged == 1 and second.not_fetched == []
    assert [p.url for p in second.posts] == posts[1:]
    assert [r.status for p in second.posts for r in p.records] == ["no_endpoint", "no_endpoint"]


def test_a_feed_not_fetched_before_the_budget_ran_out_is_listed_whole(web, store) -> None:
    clock = Clock()
    sender = make_sender(store, SlowFetcher(clock), clock)
    clock.now += 100
    feed_url = web.url("/feed.xml", "me.test")
    assert send_feed(sender, feed_url).not_fetched == [feed_url] and web.hits == []


def test_a_sitemap_is_not_walked_further_once_the_budget_is_spent(web, store) -> None:
    clock = Clock()
    posts = [web.url(f"/p{i}", "me.test") for i in range(50)]
    web.pages["/sitemap.xml"] = Page(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{url}</loc></url>" for url in posts) + "</urlset>",
        headers={"Content-Type": "application/xml"},
    )
    for i in range(50):
        web.pages[f"/p{i}"] = post_page()
    reads = []
    sender = make_sender(store, SlowFetcher(clock), clock)
    real_read = sender.read
    sender.read = lambda fn: (reads.append(fn), real_read(fn))[1]  # type: ignore[method-assign]
    # The sitemap at 0 s, post 0 at 30, post 1 at 60, post 2 at 90: then the budget of 100 s is spent.
    result = send_feed(sender, web.url("/sitemap.xml", "me.test"))
    assert [p.url for p in result.posts] == posts[:3] and result.not_fetched == posts[3:]
    assert len(reads) < 20  # the store is not read for each of the 47 entries left


def test_the_job_lists_the_first_urls_left_and_counts_them_all(web, tmp_path, slow_run, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "NOT_FETCHED_LISTED", 2)
    posts = [web.url(f"/p{i}") for i in range(6)]
    for i in range(6):
        web.pages[f"/p{i}"] = post_page()
    with Store(str(tmp_path / "lb.duckdb")) as store:
        result = jobs.send(store, posts=posts, allow_private=True, budget=100)
    # Posts 0-3 at 0, 30, 60 and 90 s; 4 and 5 left.
    assert (result["not_fetched"], result["not_fetched_count"]) == (posts[4:6], 2)
    monkeypatch.setattr(jobs, "NOT_FETCHED_LISTED", 1)
    with Store(str(tmp_path / "lb2.duckdb")) as store:
        result = jobs.send(store, posts=posts, allow_private=True, budget=100)
    assert (result["not_fetched"], result["not_fetched_count"]) == (posts[4:5], 2)


# --- the job and the CLI -------------------------------------------------------------------------


@pytest.fixture
def slow_run(monkeypatch):
    """Every run's clock is a fake one, and each fetch of every Fetcher takes STEP seconds of it."""
    clock = Clock()
    real_fetch = Fetcher.fetch

    def fetch(self, url, **kwargs):  # noqa: ANN001, ANN003, ANN202
        try:
            return real_fetch(self, url, **kwargs)
        finally:
            clock.now += STEP

    monkeypatch.setattr(sender_module, "monotonic", clock)
    monkeypatch.setattr(Fetcher, "fetch", fetch)
    return clock


def cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def budget_run(web: PageServer, db: str, *more: str):
    """Two posts: the first with four targets, of which the budget of 100 s leaves one; the second
    is not fetched."""
    targets = [web.url(f"/t{i}") for i in range(4)]
    for i in range(4):
        web.pages[f"/t{i}"] = Page("<p>no endpoint</p>")
    web.pages["/post"] = post_page(*targets)
    web.pages["/later"] = post_page(targets[0])
    return cli("send", web.url("/post"), web.url("/later"), "--budget", "100", "--allow-private", "--db", db, *more)


def test_the_cli_shows_what_the_budget_left_in_json(web, tmp_path, slow_run) -> None:
    result = budget_run(web, str(tmp_path / "lb.duckdb"), "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["status"], r["reason"]) for r in rows] == [("no_endpoint", "")] * 3 + [("failed", SPENT)]
    assert " ".join(result.stderr.split()) == (
        "time budget of 100 s spent: 1 target(s) not notified and 1 URL(s) not fetched; run again to send the rest"
    )
    assert not any(hit.path == "/later" for hit in web.hits)


def test_the_cli_table_of_a_run_out_of_time_fits_80_columns(web, tmp_path, slow_run) -> None:
    result = budget_run(web, str(tmp_path / "lb.duckdb"))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines() + result.stderr.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    # The reason is shortened to fit; the run's last message says it whole.
    assert "4 notifications" in result.stdout and "skipped: ti…" in result.stdout
    assert "time budget of 100 s spent: 1 target(s) not notified" in " ".join(result.stderr.split())


def test_the_job_counts_what_the_budget_left_and_a_feed_it_never_fetched_says_nothing(web, tmp_path, slow_run) -> None:
    for name in ("p1", "p2"):
        web.pages[f"/{name}"] = post_page(web.url("/t"))
        web.pages[f"/{name}.xml"] = Page(
            rss((web.url(f"/{name}"), name, "Mon, 02 Nov 2026 10:00:00 GMT")),
            headers={"Content-Type": "application/rss+xml"},
        )
    web.pages["/t"] = Page("<p>no endpoint</p>")
    with Store(str(tmp_path / "lb.duckdb")) as store:
        # The first feed at 0 s, its post at 30, the post's target at 60; the second feed at 90 s
        # still starts, its post at 120 s does not, nor does the sitemap.
        result = jobs.send(
            store, feeds=[web.url("/p1.xml"), web.url("/p2.xml")], sitemaps=[web.url("/never.xml")],
            allow_private=True, budget=100,
        )  # fmt: skip
    assert (result["not_tried"], result["not_fetched"], result["failures"]) == (
        0, [web.url("/p2"), web.url("/never.xml")], 0,
    )  # fmt: skip
    assert [m["text"] for m in result["messages"]] == [
        "1 entries, 0 unchanged",
        "1 entries, 0 unchanged",
        "time budget of 100 s spent: 2 URL(s) not fetched; run again to send the rest",
    ]
    assert [r["source"] for r in result["sends"]] == [web.url("/p1")]
    assert not any(hit.path in ("/p2", "/never.xml") for hit in web.hits)


@pytest.mark.parametrize("budget", [0, -1, math.nan, math.inf])
def test_a_budget_that_is_not_a_positive_number_of_seconds_is_refused_before_anything_is_fetched(
    web, store, budget
) -> None:
    web.pages["/post"] = post_page()
    with pytest.raises(ValueError, match=f"budget must be a number of seconds above 0, not {budget!r}"):
        jobs.send(store, posts=[web.url("/post")], allow_private=True, budget=budget)
    assert web.hits == []


def test_the_cli_refuses_a_budget_of_0_with_the_functions_message(tmp_path) -> None:
    result = cli("send", "https://blog.example.com/p", "--budget", "0", "--db", str(tmp_path / "lb.duckdb"))
    assert result.exit_code == 2
    assert "budget must be a number of seconds above 0, not 0.0" in " ".join(result.stderr.split())


def test_the_api_refuses_a_bad_budget_before_queueing_a_job(tmp_path: Path) -> None:
    db = str(tmp_path / "api.duckdb")
    Store(db).close()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(Settings(db=db, admin_token=TOKEN))) as client:
        for bad in ("soon", True, "5", 0, -1, None):
            answer = client.post(
                "/api/v1/jobs/send", json={"posts": ["https://blog.example.com/p"], "budget": bad}, headers=auth
            )
            assert answer.status_code == 422, (bad, answer.text)
        said = client.post("/api/v1/jobs/send", json={"posts": [], "budget": 0}, headers=auth).json()
        assert said == {"detail": "budget must be a number of seconds above 0, not 0.0"}
        assert client.get("/api/v1/jobs", headers=auth).json() == []  # nothing was queued
        queued = client.post("/api/v1/jobs/send", json={"posts": [], "budget": 5}, headers=auth)
        assert queued.status_code == 202  # an integer is a number of seconds too

        def ended():  # noqa: ANN202
            job = client.get(queued.headers["location"], params={"params": "true"}, headers=auth).json()
            return job["state"] not in ("queued", "running") and job

        job = wait_for(ended)
    assert job["params"]["budget"] == 5 and job["state"] == "done"


# --- one function, three faces -------------------------------------------------------------------


def test_the_budget_has_one_name_and_one_default_on_every_face() -> None:
    function = inspect.signature(jobs.send).parameters
    command = typer.main.get_command(app).commands["send"]
    cli_params = {p.name: p for p in command.params}
    api_fields = body_model(load_all()["send"]).model_fields
    form = _manage.send_params({"url": "https://blog.example.com/p", "kind": "post"})
    assert cli_params["budget"].opts == ["--budget"]
    defaults = {function["budget"].default, cli_params["budget"].default, api_fields["budget"].default, form["budget"]}
    assert defaults == {DEFAULT_BUDGET} == {jobs.SEND_BUDGET}
    # The same names everywhere: the CLI takes the posts as arguments and the feeds and sitemaps
    # as repeated --feed and --sitemap; the dashboard never asks for private addresses.
    names = set(function) - {"store", "progress"}
    lists = {"posts", "feeds", "sitemaps"}
    assert set(api_fields) == names
    assert names - lists <= set(cli_params)
    assert set(form) - lists == names - lists - {"allow_private", "allow_private_hosts"}


def test_the_cli_line_the_dashboard_shows_asks_for_the_same_budget() -> None:
    form = {"url": "https://blog.example.com/p", "kind": "post", "budget": "45.5"}
    params = _manage.send_params(form)
    line = _manage.send_command("post", params["posts"][0], all_links=False, dry_run=False, blog_name="",
                                budget=params["budget"])  # fmt: skip
    assert line.endswith("--budget 45.5")
    command = typer.main.get_command(app).commands["send"]
    parsed = command.make_context("send", shlex.split(line)[2:]).params
    assert parsed["budget"] == params["budget"] == 45.5 and list(parsed["urls"]) == params["posts"]
    default = _manage.send_command("post", "https://blog.example.com/p", all_links=False, dry_run=False,
                                   blog_name="", budget=DEFAULT_BUDGET)  # fmt: skip
    assert "--budget" not in default
