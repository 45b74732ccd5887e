"""linkback.urls: WHATWG resolution (WPT urltestdata), the PSL test suite, targets.

The conformance data is bundled under tests/data (see the SOURCE.txt files there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkback.errors import TargetError, URLError
from linkback.urls import (
    MAX_URL_LENGTH,
    HostParts,
    Target,
    host_of,
    normalize,
    parse_target,
    registrable_domain,
    registrable_domain_or_none,
    resolve,
    reverse_host,
    split_host,
)

DATA = Path(__file__).resolve().parent / "data"


def _load_wpt(name: str) -> list[dict]:
    cases = json.loads((DATA / "whatwg_url" / name).read_text("utf-8"))
    return [c for c in cases if isinstance(c, dict)]  # strings are section comments


URLTESTDATA = _load_wpt("urltestdata.json")
PERCENT_ENCODING = _load_wpt("percent-encoding.json")


def _expected(case: dict) -> tuple[str, str]:
    if case.get("failure"):
        return "", "invalid_url"
    if case["protocol"] in ("http:", "https:"):
        return case["href"].split("#", 1)[0], ""
    return "", "non_http_scheme"


def _case_id(i: int, case: dict) -> str:
    return f"{i}:{case['input'][:40]!r}"


def test_urltestdata_is_complete():
    assert len(URLTESTDATA) == 891


# --- (1) WHATWG urltestdata.json -------------------------------------------------------------


@pytest.mark.parametrize("case", URLTESTDATA, ids=[_case_id(i, c) for i, c in enumerate(URLTESTDATA)])
def test_wpt_urltestdata_resolve(case):
    """Every WPT case through resolve(): http(s) -> the href minus its fragment, any other
    scheme -> non_http_scheme, a parse failure -> invalid_url. A null base is passed as ""."""
    assert resolve(case["input"], case.get("base") or "") == _expected(case)


ABSOLUTE_CASES = [c for c in URLTESTDATA if c.get("base") is None]


@pytest.mark.parametrize("case", ABSOLUTE_CASES, ids=[_case_id(i, c) for i, c in enumerate(ABSOLUTE_CASES)])
def test_wpt_urltestdata_normalize(case):
    """The base-less WPT cases through normalize(): the stored form, or URLError."""
    url, reason = _expected(case)
    if reason:
        with pytest.raises(URLError) as err:
            normalize(case["input"])
        assert err.value.url == case["input"]
        if reason == "non_http_scheme":
            assert "only http and https" in str(err.value)
    else:
        assert normalize(case["input"]) == url


PE_CASES = [(c["input"], enc, out) for c in PERCENT_ENCODING for enc, out in c["output"].items()]


@pytest.mark.parametrize("text,encoding,expected", PE_CASES, ids=[f"{e}:{t!r}" for t, e, _ in PE_CASES])
def test_wpt_percent_encoding_of_query_in_page_encoding(text, encoding, expected):
    """WPT percent-encoding.json: a link "?{input}" in a page of each encoding."""
    assert resolve("?" + text, "https://example.com/page", encoding) == (
        "https://example.com/page?" + expected,
        "",
    )


# --- (2) Public Suffix List test_psl ----------------------------------------------------------


def _psl_checks() -> list[tuple[str | None, str | None]]:
    """The active checkPublicSuffix(input, expected) calls of the verbatim test_psl.txt."""
    text = (DATA / "public_suffix_list" / "test_psl.txt").read_text("utf-8")
    arg = r"(null|'[^']*')"
    checks = []
    for line in text.splitlines():
        m = re.match(rf"checkPublicSuffix\({arg}, {arg}\);", line.strip())
        if m:
            checks.append(tuple(None if a == "null" else a[1:-1] for a in m.groups()))
    return checks


PSL_CHECKS = _psl_checks()


def test_psl_checks_are_the_78_and_match_the_json_copy():
    as_json = json.loads((DATA / "public_suffix_list" / "test_psl.json").read_text("utf-8"))
    assert len(PSL_CHECKS) == 78
    assert PSL_CHECKS == [(c["input"], c["expected_registrable_domain"]) for c in as_json]


@pytest.mark.parametrize("host,expected", PSL_CHECKS, ids=[repr(h) for h, _ in PSL_CHECKS])
def test_psl_registrable_domain(host, expected):
    assert registrable_domain_or_none(host) == expected


@pytest.mark.parametrize("host,expected", [(h, e) for h, e in PSL_CHECKS if h and not h.startswith(".")])
def test_psl_registrable_domain_total_form(host, expected):
    """registrable_domain() never says "none": a host without one (a public suffix) is its own."""
    assert registrable_domain(host.lower()) == (expected or host.lower())


def test_the_psl_holds_the_rules_the_library_would_parse_itself():
    """linkback adds the punycode form of IDN rules itself (psl_rules), not the library: the same
    rules, the same longest rule."""
    from publicsuffixlist import PublicSuffixList

    from linkback.urls import PSL_PATH, _get_psl

    with PSL_PATH.open(encoding="utf-8") as f:
        library = PublicSuffixList(f, accept_unknown=True)
    ours = _get_psl()
    assert ours._publicsuffix == library._publicsuffix and ours._maxlabel == library._maxlabel
    assert "xn--55qx5d.cn" in ours._publicsuffix and "公司.cn" in ours._publicsuffix  # both forms


# --- (3) resolve() in pages -------------------------------------------------------------------

PAGE = "https://www.example.com/blog/2024/post.html?page=2#comments"


@pytest.mark.parametrize(
    "href,expected",
    [
        ("other.html", "https://www.example.com/blog/2024/other.html"),
        ("../", "https://www.example.com/blog/"),
        ("../../../../../x", "https://www.example.com/x"),
        ("/about", "https://www.example.com/about"),
        ("?page=3", "https://www.example.com/blog/2024/post.html?page=3"),
        ("#top", "https://www.example.com/blog/2024/post.html?page=2"),
        ("", "https://www.example.com/blog/2024/post.html?page=2"),
        ("//cdn.example.net/a.js", "https://cdn.example.net/a.js"),
        ("HTTP://Other.ORG:80/Path", "http://other.org/Path"),
        ("https://other.org:443", "https://other.org/"),
        ("https://other.org:8443/x#frag", "https://other.org:8443/x"),
        ("./a b/c", "https://www.example.com/blog/2024/a%20b/c"),
        ("/a/./b/../c", "https://www.example.com/a/c"),
        ("http://user:pw@other.org/", "http://user:pw@other.org/"),
        ("http://192.168.0.1.", "http://192.168.0.1/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
    ],
)
def test_resolve_relative_and_absolute(href, expected):
    assert resolve(href, PAGE) == (expected, "")


def test_resolve_against_a_base_href():
    """<base href="https://static.example.org/docs/"> replaces the page URL as the base."""
    base = "https://static.example.org/docs/"
    assert resolve("guide/intro", base) == ("https://static.example.org/docs/guide/intro", "")
    assert resolve("/", base) == ("https://static.example.org/", "")
    # a base without a trailing slash drops its last segment, as browsers do
    assert resolve("b", "http://example.org/a/index") == ("http://example.org/a/b", "")


def test_resolve_with_no_base_needs_an_absolute_href():
    assert resolve("http://example.org/a", "") == ("http://example.org/a", "")
    assert resolve("a/b", "") == ("", "invalid_url")


@pytest.mark.parametrize(
    "href",
    [
        "javascript:void(0)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\nscript:alert(1)",
        "mailto:someone@example.com",
        "tel:+1-555-0100",
        "data:text/html,<b>hi</b>",
        "ftp://ftp.example.com/file",
        "file:///etc/passwd",
        "ws://example.com/socket",
        "about:blank",
        "sms:123",
    ],
)
def test_resolve_refuses_non_http_schemes(href):
    assert resolve(href, PAGE) == ("", "non_http_scheme")


@pytest.mark.parametrize(
    "href",
    [
        "http://",
        "https://exa mple.com/",
        "http://[::1/",
        "http://example.com:99999/",
        "http://a%00b/",
        "https://ex<ample.com/",
        "http://1.2.3.4.5/",
    ],
)
def test_resolve_reports_invalid_urls(href):
    assert resolve(href, PAGE) == ("", "invalid_url")


def test_resolve_refuses_absurdly_long_urls():
    long_path = "/" + "a" * MAX_URL_LENGTH
    assert resolve(long_path, PAGE) == ("", "url_too_long")
    # short input that grows past the limit when percent-encoded
    assert resolve("/" + "é" * (MAX_URL_LENGTH // 5), PAGE) == ("", "url_too_long")
    # a huge inline data: URL is not http, whatever its length
    assert resolve("data:image/png;base64," + "A" * 1_000_000, PAGE) == ("", "non_http_scheme")
    # right at the limit is still accepted
    at_limit = "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/"))
    assert resolve(at_limit, PAGE) == (at_limit, "")


def test_resolve_strips_whitespace_and_newlines_like_a_browser():
    assert resolve("  /about \n", PAGE) == ("https://www.example.com/about", "")
    assert resolve("/ab\nout\t/pa\rge", PAGE) == ("https://www.example.com/about/page", "")
    assert resolve("\n\t https://other.org/x?q=1 \x00", PAGE) == ("https://other.org/x?q=1", "")
    assert resolve("/a b", PAGE) == ("https://www.example.com/a%20b", "")


def test_resolve_idn_hosts_become_punycode():
    assert resolve("http://bücher.de/ü", PAGE) == ("http://xn--bcher-kva.de/%C3%BC", "")
    assert resolve("https://ＥＸＡＭＰＬＥ.com/", PAGE) == ("https://example.com/", "")
    assert resolve("https://пример.рф", PAGE) == ("https://xn--e1afmkfd.xn--p1ai/", "")


def test_resolve_query_in_windows_1252_page():
    assert resolve("/search?q=café", PAGE, "windows-1252") == (
        "https://www.example.com/search?q=caf%E9",
        "",
    )
    # latin1 is a WHATWG label of windows-1252: € is 0x80 there, not an error
    assert resolve("?p=€", PAGE, "ISO-8859-1") == (
        "https://www.example.com/blog/2024/post.html?p=%80",
        "",
    )
    # a character windows-1252 lacks becomes an HTML numeric reference, percent-encoded
    assert resolve("?q=日", PAGE, "windows-1252") == (
        "https://www.example.com/blog/2024/post.html?q=%26%2326085%3B",
        "",
    )
    # the path and the fragment stay UTF-8; only the query takes the page encoding
    assert resolve("/é?é#é", PAGE, "windows-1252") == ("https://www.example.com/%C3%A9?%E9", "")
    # in a UTF-8 page the query is UTF-8
    assert resolve("/search?q=café", PAGE) == ("https://www.example.com/search?q=caf%C3%A9", "")


def test_resolve_query_in_shift_jis_page():
    assert resolve("/検索?q=日本語 x", PAGE, "Shift_JIS") == (
        "https://www.example.com/%E6%A4%9C%E7%B4%A2?q=%93%FA%96{%8C%EA%20x",
        "",
    )
    # (the second byte of 本 is 0x7B "{", which the query set leaves alone)
    # ① is in the NEC row of Windows-31J, which WHATWG's Shift_JIS includes
    assert resolve("?n=①", PAGE, "shift_jis") == (
        "https://www.example.com/blog/2024/post.html?n=%87@",
        "",
    )


def test_resolve_query_from_the_base_is_not_re_encoded():
    base = "https://example.com/a?q=%E9"
    assert resolve("#x", base, "windows-1252") == ("https://example.com/a?q=%E9", "")
    assert resolve("é", base, "windows-1252") == ("https://example.com/%C3%A9", "")


def test_resolve_unknown_encoding_label_means_utf8():
    assert resolve("?q=é", PAGE, "no-such-encoding") == (
        "https://www.example.com/blog/2024/post.html?q=%C3%A9",
        "",
    )


def test_resolve_lone_surrogates_become_replacement_characters():
    assert resolve("/a\ud800b", PAGE) == ("https://www.example.com/a%EF%BF%BDb", "")


@settings(max_examples=400, deadline=None)
@given(
    href=st.text(max_size=200),
    base=st.sampled_from([PAGE, "", "http://x/", "about:blank"]),
    encoding=st.sampled_from(["utf-8", "windows-1252", "shift_jis", "iso-2022-jp", "gb18030"]),
)
def test_resolve_never_raises(href, base, encoding):
    url, reason = resolve(href, base, encoding)
    assert (url == "") != (reason == "")
    if url:
        assert url.startswith(("http://", "https://")) and url.isascii() and "#" not in url
        assert len(url) <= MAX_URL_LENGTH
        assert normalize(url) == url  # the stored form is a fixed point
    else:
        assert reason in ("non_http_scheme", "invalid_url", "url_too_long")


@settings(max_examples=200, deadline=None)
@given(path=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_resolved_urls_keep_their_host(path):
    url, reason = resolve("/" + path.replace("\\", "/").lstrip("/"), "https://www.example.com/")
    if reason == "":
        assert host_of(url) == "www.example.com"


# --- normalize() ------------------------------------------------------------------------------


def test_normalize_stored_form():
    url = "HTTPS://WWW.Example.COM:443/a/../b/?x=1#f"
    assert normalize(url) == "https://www.example.com/b/?x=1"
    assert normalize("  http://example.com  ") == "http://example.com/"


@pytest.mark.parametrize(
    "url,message",
    [
        ("", "empty URL"),
        ("   ", "empty URL"),
        ("example.com/page", "no scheme"),
        ("ftp://example.com/", "only http and https"),
        ("mailto:a@b.c", "only http and https"),
        ("http://exa mple.com/", "not a valid URL"),
        ("http://" + "a" * MAX_URL_LENGTH + ".com/", "longer than 8192"),
        ("/relative", "not an absolute"),
    ],
)
def test_normalize_says_what_is_wrong(url, message):
    with pytest.raises(URLError, match=message) as err:
        normalize(url)
    assert err.value.url == url


# --- hosts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host,parts",
    [
        ("www.example.com", ("www.example.com", "example.com", "com.example.www", "com")),
        ("example.com", ("example.com", "example.com", "com.example", "com")),
        ("a.example.co.uk", ("a.example.co.uk", "example.co.uk", "uk.co.example.a", "co.uk")),
        ("alice.github.io", ("alice.github.io", "alice.github.io", "io.github.alice", "github.io")),
        ("co.uk", ("co.uk", "co.uk", "uk.co", "co.uk")),
        ("localhost", ("localhost", "localhost", "localhost", "localhost")),
        ("www.example.com.", ("www.example.com.", "example.com", "com.example.www", "com")),
        ("xn--bcher-kva.de", ("xn--bcher-kva.de", "xn--bcher-kva.de", "de.xn--bcher-kva", "de")),
        ("192.0.2.1", ("192.0.2.1", "192.0.2.1", "192.0.2.1", "")),
        ("[2001:db8::1]", ("[2001:db8::1]", "[2001:db8::1]", "[2001:db8::1]", "")),
    ],
)
def test_split_host(host, parts):
    assert split_host(host) == HostParts(*parts)
    assert registrable_domain(host) == parts[1]
    assert reverse_host(host) == parts[2]


@pytest.mark.parametrize(
    "url,host",
    [
        ("https://www.example.com/x", "www.example.com"),
        ("http://example.com/", "example.com"),
        ("http://u:p@example.com:8080/a?b", "example.com"),
        ("http://a%40b@example.com/", "example.com"),
        ("http://[2001:db8::1]:8080/", "[2001:db8::1]"),
        ("http://192.0.2.1/", "192.0.2.1"),
    ],
)
def test_host_of(url, host):
    assert host_of(url) == host


# --- (4) parse_target -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,target",
    [
        ("example.com", Target("domain", "example.com", "example.com", "com.example")),
        (" Example.COM ", Target("domain", "example.com", "example.com", "com.example")),
        ("example.co.uk", Target("domain", "example.co.uk", "example.co.uk", "uk.co.example")),
        ("www.example.com", Target("host", "www.example.com", "example.com", "com.example.www")),
        ("blog.example.co.uk", Target("host", "blog.example.co.uk", "example.co.uk", "uk.co.example.blog")),
        ("alice.github.io", Target("domain", "alice.github.io", "alice.github.io", "io.github.alice")),
        ("bücher.de", Target("domain", "xn--bcher-kva.de", "xn--bcher-kva.de", "de.xn--bcher-kva")),
        ("192.0.2.1", Target("host", "192.0.2.1", "192.0.2.1", "192.0.2.1")),
        ("https://Example.com/blog#x", Target("url_prefix", "https://example.com/blog", "example.com", "com.example")),
        ("http://www.example.com", Target("url_prefix", "http://www.example.com/", "example.com", "com.example.www")),
        ("example.com/blog", Target("url_prefix", "example.com/blog", "example.com", "com.example")),
        ("www.example.com/a b/", Target("url_prefix", "www.example.com/a%20b/", "example.com", "com.example.www")),
    ],
)
def test_parse_target(text, target):
    assert parse_target(text) == target


def test_target_prefixes():
    assert parse_target("example.com/blog").prefixes() == (
        "http://example.com/blog",
        "https://example.com/blog",
    )
    assert parse_target("https://example.com/blog").prefixes() == ("https://example.com/blog",)
    assert parse_target("example.com").prefixes() == ()


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty TARGET"),
        ("   ", "empty TARGET"),
        ("not a site", "whitespace"),
        ("co.uk", "public suffix"),
        ("com", "public suffix"),
        ("ftp://example.com/", "only http and https"),
        ("https://exa mple.com/", "whitespace"),
        ("http://[bad/", "not a usable URL prefix"),
        ("mailto:someone@example.com", "not a domain or host"),
        ("example.com:8080", "not a domain or host"),
        ("example.com?q=1", "not a domain or host"),
        ("*.example.com", "not a valid host name"),
        ("exa<mple.com", "not a domain, host or URL prefix"),
    ],
)
def test_parse_target_rejects_garbage(text, message):
    with pytest.raises(TargetError, match=message):
        parse_target(text)
