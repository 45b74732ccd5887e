"""TrackBack 1.2 (Six Apart, 2004): the pure parts of the receiver and the sender.

No I/O here. The server hands :func:`parse_ping` the body and Content-Type of a POST to a ping
URL and answers with :func:`response_ok` / :func:`response_error`; pages embed
:func:`rdf_block` so senders can find the ping URL. The sender uses :func:`discover_ping_url`,
:func:`ping_body` and :func:`parse_response`.

A TrackBack ping proves nothing (the source is never fetched by the protocol, and WordPress
does not fetch it either); the server should verify the ``url`` as for a pingback before showing
anything. The fields here are plain text: tags stripped, entities decoded, whitespace collapsed;
whoever renders them escapes them.

Character sets (the spec: the fields are in the charset given by the Content-Type ``charset``
parameter): labels are WHATWG encoding labels (so ``ISO-8859-1`` decodes as windows-1252, as
browsers do, and ``SJIS`` as Shift_JIS/cp932), plus the PHP mbstring names WordPress senders
use (``JIS``, ``SJIS-win``, ``eucJP-win``). UTF-7 is refused in every spelling: it can smuggle
``<script>`` past filters that look for ``<`` (WordPress refuses it too).
"""

from __future__ import annotations

import bisect
import html as _html
import re
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote_plus, unquote_to_bytes
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape as _xml_escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

from linkback.errors import ProtocolError
from linkback.extract._charset import codec as _whatwg_codec
from linkback.extract._charset import lookup as _whatwg_lookup
from linkback.urls import resolve

__all__ = [
    "BLOG_NAME_MAX",
    "EXCERPT_MAX",
    "MAX_PING_BYTES",
    "TITLE_MAX",
    "TrackbackPing",
    "discover_ping_url",
    "parse_ping",
    "parse_response",
    "ping_body",
    "rdf_block",
    "response_error",
    "response_ok",
]

#: WordPress's limits (wp-trackback.php): title 250, excerpt 252 characters. blog_name has none
#: there (the comment author column refuses > 245 later); 250 keeps it in line with the title.
TITLE_MAX = 250
EXCERPT_MAX = 252
BLOG_NAME_MAX = 250
#: Largest ping body :func:`parse_ping` reads (the server refuses bigger ones as they stream).
MAX_PING_BYTES = 65_536
ELLIPSIS = "\u2026"

#: PHP mbstring names (what WordPress senders put in a ``charset`` field) that are not WHATWG labels.
_PHP_LABELS = {"jis": "iso-2022-jp", "sjis-win": "shift_jis", "eucjp-win": "euc-jp", "cp932": "shift_jis"}

_FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class TrackbackPing:
    """One ping: ``url`` as sent (trimmed; an absolute http(s) URL), the text fields cleaned and
    cropped, and ``charset`` the WHATWG name of the encoding they were decoded from."""

    url: str
    title: str
    excerpt: str
    blog_name: str
    charset: str


# --- receiving ----------------------------------------------------------------------------------


def _is_utf7(label: str) -> bool:
    # "UTF-7", "utf7", "unicode-1-1-utf-7", "csUnicode11UTF7", "UTF-7-IMAP": letters and digits only.
    return "utf7" in re.sub(r"[^a-z0-9]", "", label.lower())


def _charset_name(label: str) -> str:
    """The WHATWG name for a declared charset label; ProtocolError when unusable."""
    if _is_utf7(label):
        raise ProtocolError(f"charset {label[:40]!r} refused: UTF-7 is not accepted", code="charset")
    key = label.strip().lower()
    name = _PHP_LABELS.get(key) or _whatwg_lookup(key)
    if name is None or name == "replacement":  # "replacement": ISO-2022-KR, HZ... (WHATWG refuses)
        raise ProtocolError(f"unknown charset {label[:40]!r}", code="unknown_charset")
    return name


def _form_fields(body: bytes) -> dict[str, bytes]:
    """``application/x-www-form-urlencoded`` pairs, values left as bytes.

    Percent-decoding happens on bytes, before any charset is applied: ``%E9`` is one byte that
    means "é" in ISO-8859-1 and nothing in UTF-8. Later duplicates win, as in PHP's ``$_POST``.
    """
    fields: dict[str, bytes] = {}
    for part in body.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        name = unquote_to_bytes(key.replace(b"+", b" ")).decode("latin-1")
        fields[name] = unquote_to_bytes(value.replace(b"+", b" "))
    return fields


# Japanese characters that text in a Japanese encoding is made of (full-width only): CJK symbols
# and punctuation, hiragana, katakana, CJK ideographs, full-width forms.
_JAPANESE = re.compile("[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
_KANA = re.compile("[\u3041-\u30fa]")


def _looks_japanese(text: str) -> bool:
    wide = [c for c in text if c >= "\x80"]
    return bool(wide) and all(_JAPANESE.match(c) for c in wide) and _KANA.search(text) is not None


def _detect(data: bytes) -> str:
    """The charset of undeclared text: UTF-8 when the bytes are valid UTF-8, ISO-2022-JP when they
    hold its escapes, EUC-JP or Shift_JIS when they decode strictly to Japanese with some kana
    (the kana rule keeps Latin-1 text like "M\\xe4dchen", which is valid Shift_JIS, as Latin-1),
    else windows-1252 (WHATWG's ISO-8859-1). WordPress tries ASCII, UTF-8, ISO-8859-1, JIS,
    EUC-JP, SJIS in that order, which in practice never reaches the Japanese ones."""
    if data.isascii():
        if b"\x1b$" in data or b"\x1b(" in data:
            try:
                if _looks_japanese(data.decode("iso2022_jp")):
                    return "iso-2022-jp"
            except UnicodeDecodeError:
                pass
        return "utf-8"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for name, py in (("euc-jp", "euc_jp"), ("shift_jis", "cp932")):
        try:
            text = data.decode(py)
        except UnicodeDecodeError:
            continue
        if _looks_japanese(text):
            return name
    return "windows-1252"


# An unclosed <script> runs to the end (as in a browser); "|$" also keeps hostile input linear.
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
# As PHP's strip_tags: "<" starts a tag only before a letter, "/", "!" or "?" ("a < b" stays).
_TAG = re.compile(r"<[A-Za-z/!?][^>]*(?:>|$)")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


def _clean(text: str, limit: int) -> str:
    """Plain text for display: tags (and script/style contents, comments) removed, entities
    decoded, control characters dropped, whitespace collapsed, then cut to ``limit`` characters
    counting the "…" that marks a cut (so a column of ``limit`` holds it)."""
    text = _SCRIPT_STYLE.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _html.unescape(text)
    text = _CONTROLS.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + ELLIPSIS
    return text


def parse_ping(body: bytes, content_type: str | None, *, max_bytes: int = MAX_PING_BYTES) -> TrackbackPing:
    """Parse a TrackBack ping (the body of the POST and its Content-Type header).

    Raises :class:`ProtocolError` with ``code``:

    * ``"too_large"`` — more than ``max_bytes``;
    * ``"content_type"`` — a Content-Type other than ``application/x-www-form-urlencoded``
      (a missing one is accepted: old senders omit it);
    * ``"charset"`` — UTF-7 declared (Content-Type or ``charset`` field), in any spelling;
    * ``"unknown_charset"`` — a label that names no encoding;
    * ``"missing_url"`` — no or empty ``url`` (the spec: the server MUST answer an error);
    * ``"invalid_url"`` — ``url`` is not an absolute http(s) URL.

    The charset is the Content-Type ``charset`` parameter (the spec's SHOULD), else a ``charset``
    form field (what WordPress reads), else detected on the text fields' bytes. Bytes that are
    invalid in the charset become U+FFFD rather than refusing the ping. Unlike WordPress, a ping
    without a title is accepted (the spec makes title optional).
    """
    if len(body) > max_bytes:
        raise ProtocolError(f"ping too large: more than {max_bytes} bytes", code="too_large")
    declared: str | None = None
    if content_type and content_type.strip():
        msg = Message()
        msg["Content-Type"] = content_type
        if msg.get_content_type() != _FORM_TYPE:
            raise ProtocolError(f"Content-Type must be {_FORM_TYPE}, not {content_type[:80]!r}", code="content_type")
        param = msg.get_param("charset")
        if isinstance(param, tuple):  # RFC 2231 form: (charset, language, value)
            param = param[2]
        if isinstance(param, str) and param.strip():
            declared = param.strip()
    fields = _form_fields(bytes(body))
    field_label = fields.get("charset", b"").decode("latin-1").strip()
    if field_label and _is_utf7(field_label):
        _charset_name(field_label)  # raises: UTF-7 anywhere is an attack, not a sender's mistake
    if declared is None and field_label:
        declared = field_label
    raw = {k: fields.get(k, b"") for k in ("url", "title", "excerpt", "blog_name")}
    if declared is not None:
        charset = _charset_name(declared)
    else:
        charset = _detect(b"\n".join((raw["title"], raw["excerpt"], raw["blog_name"])))
    py = _whatwg_codec(charset)
    text = {k: v.decode(py, "replace") for k, v in raw.items()}

    url = text["url"].strip()
    if not url:
        raise ProtocolError("No URL was given", code="missing_url")
    _, reason = resolve(url, "")
    if reason:
        raise ProtocolError(f"url must be an absolute http(s) URL ({reason})", code="invalid_url")
    return TrackbackPing(
        url=url,
        title=_clean(text["title"], TITLE_MAX),
        excerpt=_clean(text["excerpt"], EXCERPT_MAX),
        blog_name=_clean(text["blog_name"], BLOG_NAME_MAX),
        charset=charset,
    )


_XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def response_ok() -> bytes:
    """The success answer, byte for byte what WordPress sends (the spec's, with newlines)."""
    return (_XML_DECL + "<response>\n<error>0</error>\n</response>").encode("utf-8")


def response_error(message: str) -> bytes:
    """The error answer. The message is XML-escaped (WordPress does not escape it, so a message
    with "&" or "<" makes its answer malformed); characters XML forbids become U+FFFD."""
    safe = _xml_escape(_NOT_XML.sub("\ufffd", message))
    return (_XML_DECL + f"<response>\n<error>1</error>\n<message>{safe}</message>\n</response>").encode("utf-8")


def _attr(value: str) -> str:
    return _xml_escape(_NOT_XML.sub("\ufffd", value), {'"': "&quot;"})


def rdf_block(page_url: str, ping_url: str, title: str) -> str:
    """The autodiscovery RDF for a page, inside an HTML comment as WordPress's themes emit it
    (so HTML validators pass). Values are XML-escaped; ``>`` being escaped, no value can close
    the comment. "--" in the title becomes ``&#x2d;&#x2d;`` as in WordPress's ``trackback_rdf()``
    (SGML comments end at "--")."""
    about = _attr(page_url)
    dc_title = _attr(title).replace("--", "&#x2d;&#x2d;")
    return (
        "<!--\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '         xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '         xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">\n'
        f'<rdf:Description rdf:about="{about}"\n'
        f'    dc:identifier="{about}"\n'
        f'    dc:title="{dc_title}"\n'
        f'    trackback:ping="{_attr(ping_url)}" />\n'
        "</rdf:RDF>\n"
        "-->"
    )


# --- sending ------------------------------------------------------------------------------------

_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_TB = "http://madskills.com/public/xml/rss/module/trackback/"
#: The prefixes everyone writes; used when a page forgets to declare them.
_CONVENTIONAL = {"rdf": _NS_RDF, "dc": _NS_DC, "trackback": _NS_TB}

# Start tags; quoted values may hold ">" (a raw URL query) and either quote. A tag is read from
# a bounded window after its "<", and only the first MAX_START_TAGS openings of each kind are
# looked at, so a hostile page of unclosed "<rdf:Description" costs bounded time, not quadratic.
# Real pages have one block per post shown.
_TAG_WINDOW = 4096
MAX_START_TAGS = 1000
_RDF_OPEN = re.compile(r"<(?:[\w.-]+:)?RDF\b")
_DESCRIPTION_OPEN = re.compile(r"<(?:[\w.-]+:)?Description\b")
_TAG_REST = re.compile(r"""((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_ATTR = re.compile(r"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _start_tags(pattern: re.Pattern[str], html: str) -> list[tuple[int, str]]:
    """(position, attribute text) of the start tags ``pattern`` opens (the first MAX_START_TAGS)."""
    out = []
    for n, m in enumerate(pattern.finditer(html)):
        if n >= MAX_START_TAGS:
            break
        rest = _TAG_REST.match(html, m.end(), m.end() + _TAG_WINDOW)
        if rest is not None:
            out.append((m.start(), rest.group(1)))
    return out


def _attrs(tag_body: str) -> list[tuple[str, str]]:
    return [
        (m.group(1), _html.unescape(m.group(2) if m.group(2) is not None else m.group(3)))
        for m in _ATTR.finditer(tag_body)
    ]


def _xmlns(attrs: list[tuple[str, str]]) -> dict[str, str]:
    return {name[6:]: value.strip() for name, value in attrs if name.startswith("xmlns:")}


def _url_keys(url: str) -> tuple[str, str, str] | None:
    """Three ways to compare a page URL, strictest first: (1) stored form plus fragment (an MT
    archive page has one block per entry, told apart by "#entry"), (2) stored form, (3) stored
    form without scheme, "www." and trailing "/" (http vs https, a permalink's slash)."""
    url = url.strip()
    base, _, fragment = url.partition("#")
    stored, reason = resolve(base, "")
    if reason:
        return None
    loose = re.sub(r"^https?://(?:www\.)?", "", stored).rstrip("/")
    return f"{stored}#{fragment}", stored, loose


def discover_ping_url(html: str, page_url: str) -> str | None:
    """The TrackBack ping URL ``html`` (the page at ``page_url``) advertises for that page.

    Every ``rdf:Description`` of every ``rdf:RDF`` block counts, inside HTML comments or not;
    attributes in any order, single or double quotes, entity references decoded, namespace
    prefixes resolved through the block's ``xmlns:`` declarations (the usual ``rdf``/``dc``/
    ``trackback`` prefixes also work undeclared). The block describing the page is the one whose
    ``dc:identifier`` equals ``page_url`` — or, when a block has no ``dc:identifier``, whose
    ``rdf:about`` does (the two are the same URL in everything WordPress and Movable Type write).
    Equality is tried strictly first (stored form and fragment), then without the fragment, then
    ignoring scheme, "www." and a trailing slash; within a level the first block in the page wins.
    Returns the ``trackback:ping`` URL resolved against ``page_url`` in stored form, or None (no
    matching block, or its ping URL is not http(s)). Only the attribute form is read (not
    ``<trackback:ping>`` child elements), which is what every blog engine writes.
    """
    page = _url_keys(page_url)
    if page is None:
        return None
    starts = [(pos, _xmlns(_attrs(text))) for pos, text in _start_tags(_RDF_OPEN, html)]
    positions = [pos for pos, _ in starts]
    candidates: list[tuple[tuple[str, str, str], str]] = []
    for pos, text in _start_tags(_DESCRIPTION_OPEN, html):
        attrs = _attrs(text)
        i = bisect.bisect_left(positions, pos) - 1
        ns = dict(_CONVENTIONAL)
        if i >= 0:
            ns.update(starts[i][1])  # the enclosing rdf:RDF's declarations
        ns.update(_xmlns(attrs))
        found: dict[tuple[str, str], str] = {}
        for name, value in attrs:
            prefix, _, local = name.rpartition(":")
            uri = ns.get(prefix) if prefix else None
            found.setdefault((uri or "", local), value)
        ping = found.get((_NS_TB, "ping"))
        ident = found.get((_NS_DC, "identifier"))
        if ident is None:
            ident = found.get((_NS_RDF, "about"))
        if not ping or ident is None:
            continue
        keys = _url_keys(ident)
        ping_url, reason = resolve(ping.strip(), page[1])
        if keys is None or reason:
            continue
        candidates.append((keys, ping_url))
    for level in range(3):
        for keys, ping_url in candidates:
            if keys[level] == page[level]:
                return ping_url
    return None


def ping_body(*, url: str, title: str, excerpt: str, blog_name: str) -> tuple[bytes, str]:
    """The form body of a ping, UTF-8, and its Content-Type (with ``charset=utf-8``, the spec's
    SHOULD). A ``charset=UTF-8`` field is added too, because WordPress reads only that field.
    An empty title becomes the URL: WordPress silently ignores pings without one (no answer)."""
    fields = (
        ("title", title or url),
        ("url", url),
        ("excerpt", excerpt),
        ("blog_name", blog_name),
        ("charset", "UTF-8"),
    )
    body = "&".join(f"{k}={quote_plus(v, encoding='utf-8')}" for k, v in fields)
    return body.encode("ascii"), f"{_FORM_TYPE}; charset=utf-8"


_ERROR_RE = re.compile(rb"<error>\s*(\d+)\s*</error>")
_MESSAGE_RE = re.compile(rb"<message>(.*?)(?:</message>|$)", re.S)


def _loose_message(body: bytes) -> str:
    m = _MESSAGE_RE.search(body)
    if m is None:
        return ""
    return _clean(m.group(1).decode("utf-8", "replace"), 1000)


def parse_response(body: bytes) -> tuple[bool, str]:
    """Read a TrackBack server's answer: ``(ok, message)``.

    ``<error>0</error>`` → ok; any other error value → not ok, with the ``<message>`` text.
    WordPress does not escape its messages, so a body that is not well-formed XML but still has
    a plain ``<error>N</error>`` is read with a regular expression rather than thrown away (a
    success must not be retried forever). Anything else → ``(False, "malformed response: ...")``.
    """
    data = bytes(body).lstrip(b" \t\r\n")
    try:
        root = _safe_fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as e:
        m = _ERROR_RE.search(data)
        if m is None:
            return False, f"malformed response: {e}"
        return m.group(1) == b"0", _loose_message(data)
    if root.tag != "response":
        return False, f"malformed response: root is <{root.tag}>, not <response>"
    error = root.find("error")
    if error is None or not (error.text or "").strip().isdigit():
        return False, "malformed response: no <error>0|1</error>"
    message = root.findtext("message") or ""
    return error.text.strip() == "0", message.strip()
