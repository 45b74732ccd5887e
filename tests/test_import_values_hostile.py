"""Cells a hostile (or careless) export holds: dates whose order only the whole file tells, URLs
with other schemes or credentials, hosts no DNS name can be, out-of-range numbers, NUL bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linkback.imports._claims import parse_file
from linkback.imports._values import BadValue, clean_text, parse_host, parse_int, parse_url

AHREFS = "Referring page URL;Target URL;Anchor;Domain rating;First seen;Last seen\n"


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def rows(*lines: str) -> bytes:
    return (AHREFS + "".join(f"https://a.example.org/{i};https://example.com/;a;45,5;{line}\n"
                             for i, line in enumerate(lines))).encode()  # fmt: skip


def test_one_day_first_date_makes_the_whole_file_day_first() -> None:
    # A UK re-save of an Ahrefs export: read per cell, 05/01 was May 1st beside 25/01 (January 25th).
    parsed = parse_file("uk.csv", rows("05/01/2024;25/01/2024", "03/04/2024;04/04/2024"))
    assert parsed.rejected == 0
    seen = [(c.values["first_seen"], c.values["last_seen"]) for c in parsed.claims]
    assert seen == [(day(2024, 1, 5), day(2024, 1, 25)), (day(2024, 4, 3), day(2024, 4, 4))]


def test_one_month_first_date_makes_the_whole_file_month_first() -> None:
    parsed = parse_file("us.csv", rows("03/04/2024;03/14/2024"))
    assert [c.values["first_seen"] for c in parsed.claims] == [day(2024, 3, 4)]


def test_dates_no_row_decides_are_refused_with_how_to_decide() -> None:
    parsed = parse_file("none.csv", rows("03/04/2024;05/05/2024", "2024-01-02;06/06/2024"))
    assert parsed.rejected == 1 and [c.values["last_seen"] for c in parsed.claims] == [day(2024, 6, 6)]
    reason = parsed.rejects[0]["reason"]
    assert (
        "ambiguous date '03/04/2024' in 'First seen'" in reason and "no date in the file has a part over 12" in reason
    )
    assert "YYYY-MM-DD" in reason


def test_dates_written_both_ways_refuse_the_rows_that_read_two_ways() -> None:
    parsed = parse_file("mixed.csv", rows("25/01/2024;01/25/2024", "03/04/2024;05/05/2024"))
    assert [c.line for c in parsed.claims] == [2] and parsed.rejects[0]["line"] == 3
    assert "both day first (25/01/2024) and month first (01/25/2024)" in parsed.rejects[0]["reason"]


@pytest.mark.parametrize(
    "text", ["mailto:info@example.com", "sms:x@evil.com", 'vbscript:msgbox("a.b")', "file:c.txt", "file:///etc/x.y"]
)
def test_other_schemes_are_refused_not_read_as_https(text: str) -> None:
    scheme = text.split(":")[0]
    with pytest.raises(BadValue, match=f"{scheme}: URL, only http and https"):
        parse_url(text, "Target URL")


def test_a_host_with_a_port_is_no_scheme() -> None:
    assert parse_url("example.com:8080/x") == "https://example.com:8080/x"


def test_credentials_are_dropped_from_urls() -> None:
    assert parse_url("https://user:secret@a.example.org/p") == "https://a.example.org/p"
    assert parse_url("https://u%40x:p@a.example.org:8080/a@b") == "https://a.example.org:8080/a@b"
    assert parse_host("https://user:pw@c.example.org/") == "c.example.org"


def test_a_scheme_relative_url_suggests_one_scheme() -> None:
    with pytest.raises(BadValue, match=r"did you mean 'https://example\.com/x'\?"):
        parse_url("//example.com/x")


@pytest.mark.parametrize("host", ["*.example.org", "a..b.example.net", "-bad-.example.com", "a" * 64 + ".com"])
def test_malformed_hosts_are_refused(host: str) -> None:
    with pytest.raises(BadValue, match="not a valid host name"):
        parse_host(host, "Site")
    with pytest.raises(BadValue, match="not a valid host name"):
        parse_url(f"https://{host}/")


def test_real_hosts_are_kept() -> None:
    assert [parse_host(h) for h in ("Blog.Example.org.", "bücher.de", "192.0.2.1", "my_blog.example.com")] == [
        "blog.example.org", "xn--bcher-kva.de", "192.0.2.1", "my_blog.example.com"]  # fmt: skip


def test_ratings_and_counts_out_of_range_refuse_the_row() -> None:
    text = AHREFS.replace("Last seen", "Domain traffic") + "".join(
        f"https://a.example.org/{i};https://example.com/;a;{dr};2024-01-01;{traffic}\n"
        for i, (dr, traffic) in enumerate([("45", "1 234"), ("101", "5"), ("-3", "5"), ("50", "9" * 23)])
    )
    parsed = parse_file("ranges.csv", text.encode())
    assert [c.metrics for c in parsed.claims] == [{"dr": 45.0, "domain_traffic": 1234}]
    reasons = [r["reason"] for r in parsed.rejects]
    assert reasons[0] == "rating out of range '101' in 'Domain rating': not 0-100"
    assert "unparseable number '-3'" in reasons[1] and "number out of range" in reasons[2]
    with pytest.raises(BadValue, match="unparseable number"):
        parse_int("9" * 5000)  # not int()'s own ValueError for too many digits


def test_a_nul_byte_is_not_kept_in_text() -> None:
    assert clean_text("an\x00chor\x07 text") == "anchor text"


def test_a_hosts_trailing_dot_is_dropped_whether_given_bare_or_in_a_url() -> None:
    assert parse_host("https://Rival.com./x") == parse_host("rival.com.") == "rival.com"
