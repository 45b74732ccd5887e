"""A site and a report TARGET agree on what a site is: ``localhost`` and intranet names (useful with
``--allow-private``) are hosts of their own; a public suffix (``com``, ``github.io``) is neither."""

from __future__ import annotations

import pytest
from linkrows import insert, link

from linkback import mentions, reports
from linkback.errors import TargetError, URLError
from linkback.store import Store
from linkback.urls import is_public_suffix, parse_target


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST", "intranet", "nas", "printer.lan", "127.0.0.1", "[::1]"])
def test_a_private_name_is_both_a_site_and_a_target(name: str) -> None:
    site = mentions.normalize_site(name)
    target = parse_target(name)
    assert target.value == site and target.kind in ("host", "domain")
    assert not is_public_suffix(name)


@pytest.mark.parametrize("name", ["com", "co.uk", "github.io", "home.arpa"])
def test_a_public_suffix_is_neither_a_site_nor_a_target(name: str, tmp_path) -> None:  # noqa: ANN001
    assert is_public_suffix(name)
    with pytest.raises(TargetError, match="public suffix"):
        parse_target(name)
    with Store(str(tmp_path / "s.duckdb")) as store, pytest.raises(URLError, match="public suffix"):
        mentions.add_site(store.con, name)


def test_localhost_is_a_host_that_covers_itself_only() -> None:
    assert parse_target("localhost").kind == "host"
    assert mentions.covers("localhost", "localhost")
    assert not mentions.covers("localhost", "evil.localhost")
    assert mentions.covers("printer.lan", "scan.printer.lan")  # a domain under an unknown TLD


def test_backlinks_of_localhost(tmp_path) -> None:  # noqa: ANN001
    rows = [
        link("https://blog.example.com/a", "http://localhost:8080/wiki/Start", anchor="wiki"),
        link("https://blog.example.com/b", "http://evil.localhost/", anchor="other"),
    ]
    with Store(str(tmp_path / "l.duckdb")) as store:
        insert(store, "links", sorted(rows, key=lambda r: r["target_rhost"]))
        got = reports.backlinks(store, "localhost")
    assert [r["target_url"] for r in got] == ["http://localhost:8080/wiki/Start"]
