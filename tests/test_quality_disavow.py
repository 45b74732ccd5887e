"""Disavow files (issue #3): written in Google's syntax within its limits, and checked line by line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from linkback.cli import app as cli
from linkback.errors import LinkbackError
from linkback.quality._disavow import (
    DISAVOW_RULES,
    MAX_BYTES,
    MAX_LINES,
    MAX_URL_CHARS,
    DisavowEntry,
    DisavowError,
    DisavowProblem,
    check_disavow,
    disavow_entries,
    write_disavow,
)
from linkback.server import Settings, create_app

GOOGLE_EXAMPLE = b"""\
# Contacted owner of spamdomain1.com on 7/1/2012 to ask for link removal but got no response
domain:spamdomain1.com
# Owner of spamdomain2.com removed most links, but missed these
http://www.spamdomain2.com/contentA.html
http://www.spamdomain2.com/contentB.html
"""


def errors(problems: list[DisavowProblem]) -> list[DisavowProblem]:
    return [p for p in problems if p.severity == "error"]


def rules_at(data: bytes) -> list[tuple[int | None, str]]:
    return [(p.line, p.rule) for p in check_disavow(data)]


# --- writing -------------------------------------------------------------------------------------


def test_google_example_is_clean() -> None:
    assert check_disavow(GOOGLE_EXAMPLE) == []


def test_write_produces_google_syntax_with_reasons_as_comments() -> None:
    text = write_disavow(
        [("spamdomain1.com", "no response from owner"), ("Links.Example", "link farm"), ("farm.example", "link farm")],
        [
            ("http://www.spamdomain2.com/contentB.html", "owner missed these"),
            ("http://www.spamdomain2.com/contentA.html", "owner missed these"),
        ],
        header=["Disavow file for example.com", "written by linkback"],
    )
    assert text == (
        "# Disavow file for example.com\n"
        "# written by linkback\n"
        "\n"
        "# link farm\n"
        "domain:farm.example\n"
        "domain:links.example\n"
        "# no response from owner\n"
        "domain:spamdomain1.com\n"
        "# owner missed these\n"
        "http://www.spamdomain2.com/contentA.html\n"
        "http://www.spamdomain2.com/contentB.html\n"
    )
    assert check_disavow(text.encode("utf-8")) == []


def test_write_deduplicates_and_drops_what_a_domain_covers() -> None:
    entries = disavow_entries(
        [
            ("spam.example", "toxic"),
            ("SPAM.example.", "deny list"),
            ("domain:sub.spam.example", ""),
            ("other.example", ""),
        ],
        [
            ("https://spam.example/a", "toxic"),
            ("https://www.spam.example/b", ""),
            ("https://keep.example/x#frag", "one"),
            ("HTTPS://KEEP.example:443/x", "two"),
            ("https://keep.example/x", "one"),
        ],
    )
    assert entries == [
        DisavowEntry("domain", "other.example", ""),
        DisavowEntry("domain", "spam.example", "toxic; deny list"),
        DisavowEntry("url", "https://keep.example/x", "one; two"),
    ]
    assert [e.line for e in entries] == ["domain:other.example", "domain:spam.example", "https://keep.example/x"]


def test_write_is_deterministic_whatever_the_input_order() -> None:
    domains = [("b.example", "r1"), ("a.example", "r2"), ("c.example", "r1")]
    urls = [("https://z.example/2", ""), ("https://z.example/1", "")]
    assert write_disavow(domains, urls) == write_disavow(domains[::-1], urls[::-1])


def test_write_uses_punycode_for_idn_hosts() -> None:
    text = write_disavow([("bücher.de", "spam")], [("https://münchen.example/straße", "")])
    assert "domain:xn--bcher-kva.de\n" in text
    assert "https://xn--mnchen-3ya.example/stra%C3%9Fe\n" in text
    assert check_disavow(text.encode()) == []
    assert check_disavow("domain:bücher.de\ndomain:xn--bcher-kva.de\n".encode()) == [
        DisavowProblem(2, "duplicate", "domain:xn--bcher-kva.de is already on line 1", "warning")
    ]


def test_write_keeps_reasons_on_comment_lines() -> None:
    text = write_disavow([("spam.example", "line one\nhttp://not-an-entry.example/\x00")], [], header=["a\r\nb", "# c"])
    lines = text.splitlines()
    assert lines == ["# a", "# b", "# c", "", "# line one http://not-an-entry.example/", "domain:spam.example"]
    assert check_disavow(text.encode()) == []


def test_entries_without_a_reason_are_set_apart_from_the_comment_above() -> None:
    text = write_disavow([("a.example", "farm"), ("b.example", "")], [("https://c.example/", "")])
    assert text == "domain:b.example\n# farm\ndomain:a.example\n\nhttps://c.example/\n"


def test_write_of_nothing_is_empty() -> None:
    assert write_disavow([], []) == ""
    assert write_disavow([], [], header=["nothing to disavow"]) == "# nothing to disavow\n"


@pytest.mark.parametrize(
    ("domain", "why"),
    [
        ("http://spam.example", "scheme"),
        ("spam.example/path", "subpath"),
        ("*.spam.example", "wildcard"),
        ("spam example", "whitespace"),
        ("spam.example:8080", "port"),
        ("-spam.example", "label"),
        ("", "nothing"),
        ("co.uk", "public suffix"),
    ],
)
def test_write_refuses_a_bad_domain(domain: str, why: str) -> None:
    with pytest.raises(DisavowError, match=why):
        write_disavow([(domain, "")], [])


@pytest.mark.parametrize("url", ["spam.example/page", "ftp://spam.example/", "mailto:a@spam.example", "https://"])
def test_write_refuses_a_bad_url(url: str) -> None:
    with pytest.raises(DisavowError, match="cannot disavow URL"):
        write_disavow([], [(url, "")])


def test_write_url_length_limit_at_and_over() -> None:
    base = "https://spam.example/"
    at = base + "a" * (MAX_URL_CHARS - len(base))
    assert check_disavow(write_disavow([], [(at, "")]).encode()) == []
    with pytest.raises(DisavowError, match="1 over") as e:
        write_disavow([], [(at + "a", "")])
    assert (e.value.limit, e.value.size, e.value.maximum) == ("url_chars", MAX_URL_CHARS + 1, MAX_URL_CHARS)
    assert isinstance(e.value, LinkbackError)


def test_write_line_limit_at_and_over() -> None:
    # Header comments count as lines; the entry adds itself and a blank line before it.
    header = ["header"] * (MAX_LINES - 2)
    text = write_disavow([("spam.example", "")], [], header=header)
    assert text.count("\n") == MAX_LINES and text.endswith("\n\ndomain:spam.example\n")
    with pytest.raises(DisavowError, match="100,001 lines, 1 over the 100,000-line limit") as e:
        write_disavow([("spam.example", "")], [], header=[*header, "one more"])
    assert (e.value.limit, e.value.size, e.value.maximum) == ("lines", MAX_LINES + 1, MAX_LINES)


def test_write_byte_limit_at_and_over() -> None:
    # 1,000 URLs of 2,000 characters plus newlines, then a header comment filling the rest exactly.
    urls = [(f"https://spam.example/{i:04d}/" + "a" * (2000 - 26), "") for i in range(1000)]
    body = write_disavow([], urls)
    pad = MAX_BYTES - len(body) - len("\n")  # the header line and its blank separator
    header = "#" + "x" * (pad - len("#\n"))
    text = write_disavow([], urls, header=[header])
    assert len(text.encode()) == MAX_BYTES
    assert check_disavow(text.encode()) == []
    with pytest.raises(DisavowError, match="2,097,153 bytes, 1 over the 2,097,152-byte limit") as e:
        write_disavow([], urls, header=[header + "x"])
    assert (e.value.limit, e.value.size) == ("bytes", MAX_BYTES + 1)


# --- checking: each rule names the line that breaks it -----------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"domain:a.example\n\xff\xfeoops\n", [(2, "not-utf8")]),
        (b"domain:a.example\n# caf\xe9 (Latin-1)\n", [(2, "not-utf8")]),
        (b"example.com\n", [(1, "bad-line")]),
        (b"# ok\nexample.com/en/\n", [(2, "bad-line")]),
        (b"Domain:example.com\n", [(1, "bad-line")]),
        (b"ftp://example.com/\n", [(1, "bad-line")]),
        (b"- http://example.com/\n", [(1, "bad-line")]),
        (b"http://example.com/\x00\n", [(1, "bad-line")]),
        (b"domain:\n", [(1, "bad-domain")]),
        (b"domain: example.com\n", [(1, "bad-domain")]),
        (b"domain:https://example.com\n", [(1, "bad-domain")]),
        (b"domain:example.com/blog\n", [(1, "bad-domain")]),
        (b"domain:*.example.com\n", [(1, "bad-domain")]),
        (b"domain:exa mple.com\n", [(1, "bad-domain")]),
        (b"domain:example.com:80\n", [(1, "bad-domain")]),
        (b"domain:exa..mple.com\n", [(1, "bad-domain")]),
        (b"domain:3.14\n", [(1, "bad-domain")]),
        (b"http://exa mple.com/\n", [(1, "bad-url")]),
        (b"http://[::1/\n", [(1, "bad-url")]),
        (b"https://\n", [(1, "bad-url")]),
        (b"domain:a.example\ndomain:A.example\n", [(2, "duplicate")]),
        (b"http://a.example/x\nhttp://A.example:80/x#top\n", [(2, "duplicate")]),
        (b"http://www.a.example/x\ndomain:a.example\n", [(1, "covered-by-domain")]),
        (b"domain:a.example\ndomain:blog.a.example\n", [(2, "covered-by-domain")]),
        (b"domain:www.a.example\n", [(1, "www-domain")]),
        (b"domain:co.uk\n", [(1, "public-suffix")]),
        (b"domain:a.example # spam\n", [(1, "inline-comment")]),
        (b"  domain:a.example\n", [(1, "whitespace")]),
        (b"\xef\xbb\xbfdomain:a.example\n", [(1, "bom")]),
        (b"# nothing here\n\n", [(None, "no-entries")]),
        (b"", [(None, "no-entries")]),
    ],
)
def test_each_rule_names_the_line_that_breaks_it(data: bytes, expected: list[tuple[int | None, str]]) -> None:
    assert rules_at(data) == expected


def test_severity_follows_the_rule() -> None:
    data = b"example.com\ndomain:www.a.example\n"
    assert [(p.rule, p.severity) for p in check_disavow(data)] == [("bad-line", "error"), ("www-domain", "warning")]
    assert set(DISAVOW_RULES.values()) == {"error", "warning"}


def test_messages_say_what_to_write_instead() -> None:
    (bare,) = check_disavow(b"spam.example\n")
    assert "domain:spam.example" in bare.message
    (sub,) = check_disavow(b"domain:spam.example/en/\n")
    assert "subpath" in sub.message
    (www,) = check_disavow(b"domain:www.spam.example\n")
    assert "domain:spam.example" in www.message


@pytest.mark.parametrize(
    ("line", "as_in_a_url"),
    [
        ("domain:192.0.2.9", "192.0.2.9"),
        ("domain:192.0.2.9.", "192.0.2.9"),
        ("domain:[::1]", "[::1]"),
        ("domain:2001:db8::1", "[2001:db8::1]"),
        ("domain:[2001:DB8:0::1]", "[2001:db8::1]"),
    ],
)
def test_an_ip_address_after_domain_is_an_error_saying_to_list_its_urls(line: str, as_in_a_url: str) -> None:
    # Google's domain: takes only domain names: an address there disavows nothing, silently.
    (problem,) = check_disavow(f"# spam\ndomain:ok.example\n{line}\n".encode())
    assert (problem.line, problem.rule, problem.severity) == (3, "bad-domain", "error")
    assert "takes only domain names" in problem.message and "disavows nothing" in problem.message
    assert f"URLs of its linking pages instead, one per line (http://{as_in_a_url}/page)" in problem.message
    # What it says to write is clean, and is what `linkback disavow` writes for such a referrer.
    assert check_disavow(f"http://{as_in_a_url}/page\n".encode()) == []


def test_a_bare_ip_address_line_says_to_list_its_urls_and_a_numeric_name_is_no_address() -> None:
    (bare,) = check_disavow(b"192.0.2.9\n")
    assert bare.rule == "bad-line" and "(http://192.0.2.9/page)" in bare.message
    (path,) = check_disavow(b"2001:db8::1/spam\n")
    assert path.rule == "bad-line" and "(https://[2001:db8::1]/spam)" in path.message
    (numeric,) = check_disavow(b"domain:3.14\n")
    assert numeric.rule == "bad-domain" and "not a valid host name" in numeric.message


def test_write_refuses_an_ip_address_as_a_domain_and_skips_it_with_a_note() -> None:
    with pytest.raises(DisavowError, match="IPv4 address.*takes only domain names"):
        write_disavow([("192.0.2.9", "")], [])
    text = write_disavow([("[2001:db8::1]", "spam")], [("http://[2001:db8::1]/p", "spam")], skip_unusable=True)
    lines = text.splitlines()
    assert "http://[2001:db8::1]/p" in lines and not [line for line in lines if line.startswith("domain:")]
    assert any("cannot disavow domain '[2001:db8::1]': an IPv6 address" in line for line in lines)
    assert errors(check_disavow(text.encode())) == []


def test_the_cli_and_the_dashboard_report_an_ip_domain_line(tmp_path: Path) -> None:
    data = b"domain:spam.example\ndomain:192.0.2.9\n"
    path = tmp_path / "disavow.txt"
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["disavow", "--check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert f"{path}:2: error bad-domain: 'domain:192.0.2.9': an IPv4 address;" in result.stdout
    with TestClient(create_app(Settings(db=str(tmp_path / "s.duckdb"), admin_token="t"))) as client:
        assert client.post("/do/login", data={"token": "t", "next": "/"}, follow_redirects=False).status_code == 303
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/disavow").text).group(1)
        page = client.post("/disavow/check", data={"csrf": csrf}, files={"file": ("disavow.txt", data, "text/plain")})
    assert page.status_code == 200 and "disavow.txt: 1 error(s), 0 warning(s)" in page.text
    assert "&#39;domain:192.0.2.9&#39;: an IPv4 address; domain: takes only domain names" in page.text


def test_utf16_is_refused_once_for_the_file() -> None:
    data = "domain:a.example\n".encode("utf-16")
    assert rules_at(data) == [(None, "not-utf8")]


def test_crlf_and_unicode_hosts_are_accepted() -> None:
    assert check_disavow("# commentaire é\r\ndomain:bücher.de\r\nhttps://例え.テスト/パス\r\n".encode()) == []


def test_filename_must_end_in_txt() -> None:
    assert check_disavow(GOOGLE_EXAMPLE, filename="disavow.TXT") == []
    assert [(p.line, p.rule) for p in check_disavow(GOOGLE_EXAMPLE, filename="disavow.csv")] == [(None, "not-txt")]


def test_url_length_limit_at_and_over() -> None:
    base = b"https://spam.example/"
    at = base + b"a" * (MAX_URL_CHARS - len(base))
    assert check_disavow(at + b"\n") == []
    (problem,) = check_disavow(b"# x\n" + at + b"a\n")
    assert (problem.line, problem.rule) == (2, "url-too-long")
    assert "2,049 characters, 1 over" in problem.message


def test_url_length_counts_characters_not_bytes() -> None:
    base = "https://spam.example/"
    at = base + "é" * 1000 + "a" * (MAX_URL_CHARS - len(base) - 1000)
    assert len(at.encode()) > MAX_URL_CHARS
    assert check_disavow(at.encode()) == []


def test_line_limit_at_and_over() -> None:
    at = b"domain:a.example\n" + b"#\n" * (MAX_LINES - 1)
    assert check_disavow(at) == []
    assert check_disavow(at.rstrip(b"\n")) == []  # no final newline: still 100,000 lines
    over = check_disavow(at + b"\n")
    assert [(p.line, p.rule) for p in over] == [(MAX_LINES + 1, "too-many-lines")]
    assert "100,001 lines, 1 over" in over[0].message


def test_byte_limit_at_and_over() -> None:
    head = b"domain:a.example\n"
    at = head + b"#" + b"x" * (MAX_BYTES - len(head) - 2) + b"\n"
    assert len(at) == MAX_BYTES
    assert check_disavow(at) == []
    over = check_disavow(at + b"\n")
    assert [(p.line, p.rule) for p in over] == [(None, "too-large")]
    assert "2,097,153 bytes, 1 over" in over[0].message


def test_problems_come_sorted_by_line_with_file_problems_first() -> None:
    data = b"x\n" + b"#\n" * MAX_LINES + b"domain:www.a.example\n"
    got = [(p.line, p.rule) for p in check_disavow(data, filename="d.csv")]
    assert got == [(None, "not-txt"), (1, "bad-line"), (MAX_LINES + 1, "too-many-lines"), (MAX_LINES + 2, "www-domain")]


# --- round trips and fuzzing -------------------------------------------------------------------

_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
# Hosts under names no one registers in the PSL's private section ("x0.com" is a suffix there).
_HOST = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from(["example", "test", "example.co.uk", "invalid"]),
)
_REASON = st.text(max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    domains=st.lists(st.tuples(_HOST, _REASON), max_size=15),
    urls=st.lists(
        st.tuples(st.builds(lambda h, p: f"https://{h}/{p}", _HOST, st.text(max_size=30)), _REASON), max_size=15
    ),
    header=st.lists(st.text(max_size=40), max_size=3),
)
def test_written_files_check_clean(domains, urls, header) -> None:
    text = write_disavow(domains, urls, header=header)
    assert text == "" or text.endswith("\n")
    problems = check_disavow(text.encode("utf-8"), filename="disavow.txt")
    assert errors(problems) == []
    assert {p.rule for p in problems} <= {"www-domain", "no-entries"}


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
def test_check_never_raises_on_random_bytes(data: bytes) -> None:
    _assert_well_formed(check_disavow(data), data)


_PIECES = st.sampled_from(
    [
        "domain:",
        "http://",
        "https://",
        "#",
        " ",
        "\t",
        "\r",
        "\n",
        "www.",
        "example.com",
        "co.uk",
        "/",
        ":",
        "*",
        "@",
        "..",
        "é",
        "\x00",
        "\ufeff",
        "xn--",
        "a" * 50,
        "%",
        "?",
        "[",
        "]",
        "-",
        "\xff",
    ]
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=8).map("".join), max_size=20))
def test_check_never_raises_on_random_lines(lines: list[str]) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    _assert_well_formed(check_disavow(data), data)


def _assert_well_formed(problems: list[DisavowProblem], data: bytes) -> None:
    n_lines = len(data.splitlines())
    keys = [-1 if p.line is None else p.line for p in problems]
    assert keys == sorted(keys)
    for p in problems:
        assert p.rule in DISAVOW_RULES and p.severity == DISAVOW_RULES[p.rule]
        assert p.line is None or 1 <= p.line <= max(n_lines, 1)
        assert p.message
