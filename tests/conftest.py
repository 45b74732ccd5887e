"""Shared test fixtures.

``shared_data`` is ../shared/data beside the project (the larger real-data checks run in CI);
where it is absent, those tests skip and say why. ``repo_data`` is the small real data bundled in
the repo under tests/data (with its SOURCE and licence notes), which the default tests use.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx._transports.default
import pytest
import typer.main
import typer.testing

ROOT = Path(__file__).resolve().parent.parent
REPO_DATA = ROOT / "tests" / "data"
SHARED_DATA = Path(os.environ.get("LINKBACK_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the calling test (with the reason) if absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the real-data checks need ../shared/data beside the project")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture
def repo_data() -> Path:
    return REPO_DATA


# --- the command line as Click sees it, built once -------------------------------------------------
#
# Typer's CliRunner.invoke converts the Typer app into a Click command on every call: 45 ms for
# linkback's ~80 commands, more than most of the commands it runs take. The app does not change
# while the tests run, so the conversion is kept (rebuilt if commands are added to the app).
_CLICK_COMMANDS: dict[tuple[int, int, int], object] = {}


def _click_command(app: typer.Typer) -> object:
    key = (id(app), len(app.registered_commands), len(app.registered_groups))
    command = _CLICK_COMMANDS.get(key)
    if command is None:
        command = _CLICK_COMMANDS[key] = typer.main.get_command(app)
    return command


typer.testing._get_command = _click_command  # type: ignore[attr-defined]


# --- one CA bundle per test process -----------------------------------------------------------------
#
# Every httpx client (each httpx.get() too) loads a CA bundle into a new SSL context: 26-46 ms,
# for tests whose requests go to http://127.0.0.1. The context of httpx's default settings is
# made once per bundle the environment names and shared (an SSLContext serves any number of
# connections); any other verify setting is httpx's own.
_DEFAULT_SSL: dict[tuple[bool, str, str], object] = {}
_create_ssl_context = httpx._transports.default.create_ssl_context


def _shared_default_ssl_context(verify: object = True, cert: object = None, trust_env: bool = True) -> object:
    if verify is not True or cert is not None:
        return _create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]
    key = (trust_env, os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    if key not in _DEFAULT_SSL:
        _DEFAULT_SSL[key] = _create_ssl_context(trust_env=trust_env)
    return _DEFAULT_SSL[key]


httpx._transports.default.create_ssl_context = _shared_default_ssl_context  # type: ignore[assignment]


# --- one worker for a module's shared work ------------------------------------------------------
#
# pytest-xdist (`make test` runs --dist loadgroup) hands a module's tests to both workers, and a
# module-scoped fixture is then made once on each: the crawls, ingests, ranked stores and servers
# below would be made twice. These modules run on one worker, each as a group of its own (two
# that share the ingest of the bundled archives as one group), so each fixture is made once.
ONE_WORKER_MODULES: dict[str, str] = {
    name: name
    for name in (
        "test_alerts_server",
        "test_api_v1",
        "test_attach",
        "test_attach_damaged",
        "test_brands",
        "test_broken",
        "test_categories_accuracy",
        "test_cli_reports",
        "test_cli_table",
        "test_compare",
        "test_crawl",
        "test_crawl_live",
        "test_crawl_unfetched",
        "test_dashboard_tables",
        "test_hostile_attach",
        "test_intersect",
        "test_prospects",
        "test_reports",
        "test_runner_index",
        "test_server_display",
        "test_server_hardening",
        "test_server_pingback",
        "test_toxicity_real_shared",
        "test_traffic_reports",
        "test_web_csv_faces",
        "test_wat",
    )
} | {"test_lifecycle": "repo-warc", "test_toxicity_real": "repo-warc"}

#: The longest groups (wall seconds on 2 busy cores), handed out first so that none is left to
#: run alone at the end while the other worker idles; the other tests fill in around them.
LONGEST_GROUPS = (
    "test_toxicity_real_shared",
    "test_crawl_live",
    "spark",
    "test_api_v1",
    "repo-warc",
    "test_cli_reports",
)


# --- slow tests: `make test-slow`, not `make test` ------------------------------------------------
#
# `make test` is the fast default: the suite in under 6 minutes on 2 cores. The tests below took
# 4.5 CPU-seconds or more each (all its parameters together) in a full run on the 2-core VM
# (2026-12-07): Chromium's keyboard flows, live crawls and servers in subprocesses, the benches'
# smoke runs. They are marked ``slow``; `make test-slow` runs them, and CI runs both.
SLOW_TESTS = frozenset(
    {
        "test_api_v1.py::test_cli_json_api_and_cli_through_a_server_give_the_same_rows",
        "test_bench_dashboard_smoke.py::test_bench_dashboard_quick",
        "test_bench_hardening_smoke.py::test_bench_body_limits_tiny",
        "test_bench_hardening_smoke.py::test_bench_slow_sources_tiny",
        "test_bench_smoke.py::test_bench_ingest_runs_on_a_bundled_archive",
        "test_browser_docs.py::test_the_api_docs_render_offline",
        "test_cli_linkbacks.py::test_the_cli_hands_work_to_a_running_server_and_a_kill_loses_nothing",
        "test_crawl.py::test_robots_disallow_and_crawl_delay_are_obeyed",
        "test_crawl_interrupt.py::test_ctrl_c_stops_the_crawl_at_once_and_a_resume_sends_the_rest",
        "test_crawl_live.py::test_a_crawl_killed_with_kill_9_resumes_and_fetches_only_what_was_not_done",
        "test_crawl_live.py::test_pages_reach_the_store_while_the_crawl_runs",
        "test_crawl_live.py::test_render_follows_and_stores_the_links_scripts_insert",
        "test_crawl_redirect_stall.py::test_a_long_redirect_chain_does_not_stall_the_crawl",
        "test_dashboard.py::test_in_chromium_every_page_renders_cleanly_and_nothing_hostile_runs",
        "test_dashboard_a11y.py::test_axe_finds_no_serious_violation_on_any_page",
        "test_dashboard_alerts.py::test_in_chromium_alerts_and_rules_by_keyboard",
        "test_dashboard_browser_tables.py::test_filters_and_pages_in_chromium_give_the_cli_rows",
        "test_dashboard_disavow.py::test_in_chromium_deny_and_check_by_keyboard_and_nothing_hostile_runs",
        "test_dashboard_manage.py::test_in_chromium_a_site_and_a_rule_are_added_with_the_keyboard_alone",
        "test_dashboard_market.py::test_in_chromium_compare_by_keyboard",
        "test_dashboard_market.py::test_in_chromium_intersect_by_keyboard",
        "test_dashboard_market.py::test_in_chromium_traffic_drill_down_by_keyboard",
        "test_dashboard_monitor.py::test_in_chromium_broken_backlinks_and_prospects_by_keyboard",
        "test_dashboard_monitor.py::test_in_chromium_the_ledger_and_a_timeline_by_keyboard",
        "test_dashboard_overview.py::test_in_chromium_the_charts_draw_and_a_bar_opens_its_list",
        "test_dashboard_share.py::test_in_chromium_a_link_opens_the_overview_with_only_its_menu",
        "test_docs.py::test_the_readme_python_example_runs",
        "test_extract_golden.py::test_real_pages_extract_cleanly",
        "test_graph.py::test_bench_pagerank_quick_prints_its_comparison_table",
        "test_ingest.py::test_the_command_run_as_users_run_it_ingests_with_workers",
        "test_ingest.py::test_two_workers_give_the_same_index_as_one",
        "test_ingest_early.py::test_a_file_resumed_after_its_worker_died_counts_what_it_wrote_before",
        "test_ingest_pages.py::test_an_archive_as_pages_gives_what_ingest_of_the_file_gives",
        "test_ingest_ranges.py::test_ranges_cut_blind_read_what_the_whole_file_gives",
        "test_lifecycle.py::test_no_process_outlives_a_killed_ingest",
        "test_monitor_bench.py::test_bench_monitor_quick",
        "test_one_writer.py::test_interleaved_ingest_verification_moderation_and_rank_equal_a_serial_run",
        "test_rank.py::test_a_second_link_from_the_same_domain_or_a_nofollow_link_changes_nothing",
        "test_render.py::test_a_link_only_a_script_inserts_is_found_rendered_not_removed",
        "test_resume_counts.py::test_counts_after_resumed_ingests_are_the_archives_whole",
        "test_toxicity_real_shared.py::test_every_real_archive_ingests_with_counted_skips",
        "test_web_categories_widget.py::test_in_chromium_a_category_bar_leads_to_its_page_by_keyboard",
        "test_web_charts_one_period.py::test_in_chromium_one_period_sits_in_the_middle",
        "test_web_unlinked.py::test_in_chromium_set_terms_rescan_and_read_the_table_by_keyboard",
        "test_widget_create_link.py::test_in_chromium_a_reader_creates_a_link_and_the_owner_removes_one_by_keyboard",
    }
)


def pytest_itemcollected(item: pytest.Item) -> None:
    if f"{item.path.name}::{getattr(item, 'originalname', item.name)}" in SLOW_TESTS:
        item.add_marker(pytest.mark.slow)
    # As each test is collected: the groups are read when the collection is modified, after.
    group = ONE_WORKER_MODULES.get(item.path.stem)
    if group is not None and item.get_closest_marker("xdist_group") is None:
        item.add_marker(pytest.mark.xdist_group(group))


def _group_of(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return None if mark is None else str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test of an ``xdist_group`` its group, as ``--dist loadgroup`` means to.

    xdist (3.8) names a test's group by setting ``item._nodeid`` to ``"<id>@<group>"``, which
    pytest 9 no longer reads (a node's id is ``item._id`` now): every group was spread over
    both workers. After xdist's own hook, a test of a group whose id has no ``@`` gets it here.
    The longest groups are put first (:data:`LONGEST_GROUPS`).
    """
    if not config.getoption("loadgroup", default=False):
        return
    first = {name: rank for rank, name in enumerate(LONGEST_GROUPS)}
    # Each worker collects the same list and sorts it alike (a stable sort: the order within a
    # module is kept): xdist checks that the workers' collections agree.
    items.sort(key=lambda item: first.get(_group_of(item) or "", len(first)))
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks})
        if names and "@" not in item.nodeid:
            from _pytest.nodeid import NodeId  # pytest >= 9, where xdist's own suffix is lost

            # The group ends the id ("...[params]@group"), as xdist's scheduler reads it.
            nid = item._id
            last = nid.names[-1] + ("" if nid.params is None else f"[{nid.params}]") + "@" + "_".join(names)
            item._id = NodeId(path=nid.path, names=(*nid.names[:-1], last))


@pytest.fixture(scope="session")
def repo_warc_ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of every bundled archive (tests/data/warc, one process), made once a session.
    Tests copy it (:func:`copy_db`) rather than change it."""
    from linkback.ingest import ingest
    from linkback.store import Store

    path = tmp_path_factory.mktemp("repo-warc") / "index.duckdb"
    with Store(path) as store:
        ingest([REPO_DATA / "warc"], store=store, workers=1)
    return path


def copy_db(source: Path, target: Path) -> Path:
    """A copy of a closed store's file (and its write-ahead log, if one is left) at ``target``."""
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target
