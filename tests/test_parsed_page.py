"""One decoding and one parse per fetched page (issue 13): extraction, Webmention verification,
endpoint discovery, the sender and the microformats reader read a page the same way."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from linkback.extract import ParsedPage, extract
from linkback.extract._charset import codec
from linkback.fetch import FetchResult
from linkback.protocols._discovery import page_endpoints, webmention_endpoint
from linkback.protocols._mf2 import interpret
from linkback.protocols._verify import decode_body, find_link, find_link_in
from linkback.records import FetchedPage
from linkback.send import outbound_links
from linkback.urls import resolve

URL = "https://source.example/post"
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def fetched(body: bytes, content_type: str = "text/html") -> FetchedPage:
    return FetchedPage(url=URL, status=200, headers=(("Content-Type", content_type),), body=body, fetched_at=WHEN)


def fetch_result(body: bytes, content_type: str = "text/html") -> FetchResult:
    return FetchResult(
        url=URL,
        final_url=URL,
        status=200,
        headers=(("Content-Type", content_type),),
        body=body,
        truncated=False,
        content_type=content_type,
        charset=None,
        redirects=(),
        fetched_at=WHEN,
    )


def post(meta: str, title: str, word: str) -> str:
    """A post: a title, a Webmention endpoint and one link in its h-entry, with non-ASCII paths
    and queries, which a URL encodes by the page's charset (the query) or as UTF-8 (the path)."""
    return f"""<!doctype html><html><head>{meta}<title>{title}</title>
<link rel="webmention" href="/wm/{word}?q={word}"></head>
<body><article class="h-entry"><h1 class="p-name">{title}</h1>
<div class="e-content"><p>{title}: <a href="https://target.example/{word}?q={word}">{word}</a>.</p></div>
</article></body></html>"""


@pytest.mark.parametrize(
    ("label", "py_codec", "title", "word"),
    [
        ("windows-1251", "cp1251", "Новости города", "пример"),
        ("Shift_JIS", "cp932", "今日のニュース", "検索"),
    ],
)
def test_a_charset_declared_only_in_meta_reads_the_same_everywhere(
    label: str, py_codec: str, title: str, word: str
) -> None:
    body = post(f'<meta charset="{label}">', title, word).encode(py_codec)
    facts, links = extract(fetched(body))
    assert facts.charset == label.lower() and facts.title == title
    (link,) = [x for x in links if x.kind == "text"]
    assert link.anchor == word and "%" in link.target_url.split("?q=")[1]

    check = find_link(body, "text/html", URL, link.target_url)
    assert check.found and (check.anchor, check.title) == (link.anchor, facts.title)
    endpoint = webmention_endpoint([("Content-Type", "text/html")], body, URL)
    assert endpoint == resolve(f"/wm/{word}?q={word}", URL, facts.charset)[0]
    # The sender reads the h-entry's links from its own tree: by the header alone it took the
    # page for UTF-8 and gave a different URL than the index stores.
    assert outbound_links(fetch_result(body)) == {link.target_url}
    assert interpret(decode_body(body, "text/html"), URL, link.target_url).name == ""  # name == content start


def test_an_undeclared_charset_is_the_one_extraction_detects() -> None:
    # No header charset, no <meta>, no BOM, not UTF-8: the extractor detects windows-1251. The
    # verifier used to read such a page as UTF-8 and discovery as windows-1252.
    text = (
        "<html><head><title>Новости</title>"
        '<link rel="webmention" href="/приём?q=пример"></head><body>'
        "<h1>Главная страница новостей</h1><p>Сегодня в Москве прошла большая встреча, посвящённая "
        "развитию города и его жителей. Мы расскажем о самых важных событиях недели.</p>"
        '<p><a href="https://target.example/поиск?q=пример">Читать далее о примере</a></p></body></html>'
    )
    body = text.encode("cp1251")
    facts, links = extract(fetched(body))
    assert facts.charset == "windows-1251"
    (link,) = links
    check = find_link(body, "text/html", URL, link.target_url)
    assert check.found and (check.anchor, check.title) == (link.anchor, facts.title) == ("Читать далее о примере", "Новости")
    href = body.decode(codec(facts.charset)).split('rel="webmention" href="')[1].split('"')[0]
    assert webmention_endpoint([("Content-Type", "text/html")], body, URL) == resolve(href, URL, facts.charset)[0]
    assert decode_body(body, "text/html") == text


def test_one_parsed_page_serves_every_reader() -> None:
    body = post('<meta charset="windows-1251">', "Новости", "пример").encode("cp1251")
    body = body.replace(b"</article>", b'<noscript><a href="https://hidden.example/">n</a></noscript></article>')
    page = fetched(body)
    parsed = ParsedPage(page)
    tree = parsed.tree
    expected = extract(page)

    assert extract(parsed) == expected
    target = next(x.target_url for x in expected[1] if x.target_url.startswith("https://target.example/"))
    assert find_link_in(parsed, target) == find_link(body, "text/html", URL, target)
    assert find_link_in(parsed, target).excerpt == "Новости: пример."
    # The index sees a link inside <noscript> (scripting off); a browser running scripts, and so
    # the verifier, does not. Both read the same tree.
    assert any(x.target_url == "https://hidden.example/" for x in expected[1])
    assert not find_link_in(parsed, "https://hidden.example/").found
    assert page_endpoints(parsed).webmention == resolve("/wm/пример?q=пример", URL, "windows-1251")[0]
    assert interpret(parsed, URL, target).name == ""
    # The verifier marks the excerpt in the shared tree and takes the marks out again.
    assert parsed.tree is tree and extract(parsed) == expected
    # Picklable: it travels as the page (and its limits), the tree is rebuilt where it lands.
    again = pickle.loads(pickle.dumps(parsed))
    assert again.page == page and again.encoding == "windows-1251" and extract(again) == expected


def test_a_noscript_in_the_head_is_text_for_the_readers_that_run_scripts() -> None:
    # Without scripting the <a> ends the head and lands in the body, outside the <noscript>.
    body = b'<html><head><noscript><a rel="webmention" href="https://t.example/x">x</a></noscript></head><body></body>'
    parsed = ParsedPage(fetched(body))
    assert [x.target_url for x in extract(parsed)[1]] == ["https://t.example/x"]
    assert not find_link_in(parsed, "https://t.example/x").found
    assert page_endpoints(parsed).webmention is None
