"""linkback's text/image links vs the links headless Chromium sees (scripts off, page at its URL).

The real-data check (1,169 pages, >= 99.5 % agreement on (page, target) pairs) and a small
default check on hand-written tricky pages, where the two must agree exactly. Both need Debian's
chromium (``apt-get install chromium``) and playwright; they skip, saying why, without them.
See :mod:`linkback.conformance.browser_links` for the method and the classes of difference.
"""

from __future__ import annotations

import pytest
from conftest import shared_path

from linkback.conformance import browser_links as bl

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _need_browser() -> None:
    why = bl.browser_missing()
    if why:
        pytest.skip(why)


def _doc(n: int, url: str, html: str, ctype: str = "text/html", encoding: str = "utf-8") -> bl.Doc:
    return bl.Doc(f"#{n}", url, ctype, html.encode(encoding))


TRICKY = [
    # <base href> (relative itself), relative hrefs, ../, query, fragment dropped, rel tokens.
    (
        "https://example.com/a/b/page.html",
        """<!doctype html><html><head>
<base href="../other/"><title>t</title></head><body>
<a href="x.html#frag" rel="NoFollow  ugc nofollow">Read <b>more</b></a>
<a href="/root?q=1&amp;r=2">Tom &amp; Jerry &lt;3</a>
<a href="//cdn.example.net/p">protocol-relative</a>
<a href="?only=query">query only</a>
<a href="">empty href</a>
<a href="  https://example.org/ws  ">whitespace around</a>
<a href="mailto:me@example.com">mail</a><a href="javascript:void(0)">js</a>
<a href="https://example.org/img"><img src="i.png" alt=" An  image "></a>
<map name="m"><area href="/area" alt="Area alt" rel="sponsored"></map>
</body></html>""",
        "text/html",
    ),
    # <noscript> is markup with scripting off; <template> content is inert; IDN hosts.
    (
        "https://example.com/",
        """<!doctype html><html><head><meta charset="utf-8">
<noscript><a href="/from-noscript">noscript link</a></noscript></head><body>
<template><a href="/from-template">template link</a></template>
<a href="https://bücher.example/straße?q=ä">IDN &amp; UTF-8 query</a>
<a href="HTTPS://EXAMPLE.COM:443/%7euser/./x/../y">case, default port, dot segments</a>
<noscript><p><a href="/ns2" rel="ugc">inside p in noscript</a></p></noscript>
</body></html>""",
        "text/html",
    ),
    # Script and style inside links: text nobody sees, in no anchor.
    (
        "https://example.com/scripts",
        """<!doctype html><html><head><meta charset="utf-8"></head><body>
<a href="/story"><script type="text/template">&lt;source srcset="x.jpg"&gt;</script>Real headline</a>
<a href="/logo"><script>window.respimage && respimage()</script><img src="l.png" alt="Logo"></a>
<a href="/c">© Copyright <script>document.write(2019);</script> Hearst</a>
<a href="/svg"><svg><style>.cls-1{fill:#ba181d}</style></svg>bondyblog</a>
</body></html>""",
        "text/html",
    ),
    # A non-UTF-8 page: the query is percent-encoded in the document's encoding.
    (
        "http://example.de/seite",
        """<html><head><meta http-equiv="Content-Type"
content="text/html; charset=windows-1252"></head><body>
<a href="/suche?q=Müller">Müller</a><a href="/pfad/ä">Pfad ä</a></body></html>""",
        "text/html",
    ),
]


def test_tricky_pages_agree_exactly() -> None:
    docs = [
        _doc(i, url, html, ctype, "windows-1252" if "1252" in html else "utf-8")
        for i, (url, html, ctype) in enumerate(TRICKY)
    ]
    rep, rows, ours = bl.compare_docs(docs)
    assert not rep.browser_errors, rep.browser_errors
    browser = [[(o.target, o.rel, o.anchor, o.kind) for o in bl.browser_occurrences(r)] for r in rows]
    mine = [[(o.target, o.rel, o.anchor, o.kind) for o in p.occs] for p in ours]
    assert mine == browser
    # The browser really did what the cases are about.
    assert ("https://example.com/a/other/x.html", ("nofollow", "ugc"), "Read more", "text") in browser[0]
    assert ("https://example.org/img", (), "An image", "image") in browser[0]
    assert any(t == "https://example.com/from-noscript" for t, *_ in browser[1])
    assert not any("from-template" in t for t, *_ in browser[1])
    assert ("https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4", (), "IDN & UTF-8 query", "text") in browser[1]
    assert ("https://example.com/story", (), "Real headline", "text") in browser[2]
    assert ("https://example.com/logo", (), "Logo", "image") in browser[2]
    assert ("https://example.com/c", (), "© Copyright Hearst", "text") in browser[2]
    assert ("http://example.de/suche?q=M%FCller", (), "Müller", "text") in browser[3]
    assert rows[3]["charset"] == "windows-1252"


@pytest.mark.shared
@pytest.mark.slow
def test_real_pages_agree_with_the_browser() -> None:
    # Every 16th of the 1,169 pages: Chromium takes ~0.4 s a page on two cores, and on a fresh clone
    # (no cache in build/) the whole WARC would hold the suite for 7 minutes. The whole check is
    # `python -m linkback.conformance.browser_links` (docs/extraction.md).
    warc = shared_path("02_warc", "real-pages-1169.warc.gz")
    rep = bl.run(warc, cache_dir=bl.DEFAULT_CACHE, progress=False, every=16)
    print(rep.text())
    assert rep.pages == 74
    assert not rep.browser_errors, rep.browser_errors[:5]
    assert rep.agreement >= bl.THRESHOLD, rep.text()
    unexplained = {k: v[:2] for k, v in rep.pair_classes.items() if k.startswith("unexplained")}
    assert not unexplained, unexplained
