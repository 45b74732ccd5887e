"""Which character encoding a page's bytes are in, decided as a browser decides it.

The order is WHATWG "encoding sniffing" (HTML §13.2.3.1), which puts a byte-order mark first:

1. a BOM (UTF-8, UTF-16LE, UTF-16BE) — it wins over everything, as in browsers;
2. the ``charset`` parameter of the HTTP ``Content-Type`` header;
3. the ``<meta charset>`` / ``<meta http-equiv=Content-Type content=...charset=...>`` prescan of the
   first 1024 bytes (a UTF-16 label there means UTF-8, ``x-user-defined`` means windows-1252);
4. UTF-8 when the bytes are valid UTF-8 (checked on the bytes that will be parsed);
5. otherwise charset-normalizer on a bounded prefix, and windows-1252 when it has no answer.

Labels are WHATWG labels (``latin1``, ``iso-8859-1`` and ``ascii`` all mean windows-1252; ``sjis``
means Shift_JIS, decoded as cp932 as browsers do; ``gb2312`` means GBK, decoded as gb18030).
Unknown labels are ignored, as WHATWG says. The name recorded is the WHATWG name, lower-case.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from charset_normalizer import from_bytes

#: WHATWG name -> (Python codec, labels). Labels from the WHATWG Encoding Standard's table.
_ENCODINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "utf-8": ("utf-8", ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8")),
    "ibm866": ("cp866", ("866", "cp866", "csibm866", "ibm866")),
    "iso-8859-2": ("iso8859_2", ("csisolatin2", "iso-ir-101", "l2", "latin2")),
    "iso-8859-3": ("iso8859_3", ("csisolatin3", "iso-ir-109", "l3", "latin3")),
    "iso-8859-4": ("iso8859_4", ("csisolatin4", "iso-ir-110", "l4", "latin4")),
    "iso-8859-5": ("iso8859_5", ("csisolatincyrillic", "cyrillic", "iso-ir-144")),
    "iso-8859-6": (
        "iso8859_6",
        (
            "arabic",
            "asmo-708",
            "csiso88596e",
            "csiso88596i",
            "csisolatinarabic",
            "ecma-114",
            "iso-8859-6-e",
            "iso-8859-6-i",
            "iso-ir-127",
        ),
    ),
    "iso-8859-7": (
        "iso8859_7",
        ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-ir-126", "sun_eu_greek"),
    ),
    "iso-8859-8": ("iso8859_8", ("csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8-e", "iso-ir-138", "visual")),
    "iso-8859-8-i": ("iso8859_8", ("csiso88598i", "iso-8859-8-i", "logical")),
    "iso-8859-10": ("iso8859_10", ("csisolatin6", "iso-ir-157", "l6", "latin6")),
    "iso-8859-13": ("iso8859_13", ()),
    "iso-8859-14": ("iso8859_14", ()),
    "iso-8859-15": ("iso8859_15", ("csisolatin9", "l9")),
    "iso-8859-16": ("iso8859_16", ()),
    "koi8-r": ("koi8_r", ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r")),
    "koi8-u": ("koi8_u", ("koi8-ru", "koi8-u")),
    "macintosh": ("mac_roman", ("csmacintosh", "mac", "macintosh", "x-mac-roman")),
    "windows-874": ("cp874", ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874")),
    "windows-1252": (
        "cp1252",
        (
            "ansi_x3.4-1968",
            "ascii",
            "cp1252",
            "cp819",
            "csisolatin1",
            "ibm819",
            "iso-8859-1",
            "iso-ir-100",
            "iso8859-1",
            "iso88591",
            "iso_8859-1",
            "iso_8859-1:1987",
            "l1",
            "latin1",
            "us-ascii",
            "windows-1252",
            "x-cp1252",
        ),
    ),
    "windows-1254": (
        "cp1254",
        (
            "cp1254",
            "csisolatin5",
            "iso-8859-9",
            "iso-ir-148",
            "iso8859-9",
            "iso88599",
            "iso_8859-9",
            "iso_8859-9:1989",
            "l5",
            "latin5",
            "windows-1254",
            "x-cp1254",
        ),
    ),
    "x-mac-cyrillic": ("mac_cyrillic", ("x-mac-cyrillic", "x-mac-ukrainian")),
    "gbk": (
        "gb18030",
        ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58", "x-gbk"),
    ),
    "gb18030": ("gb18030", ("gb18030",)),
    "big5": ("big5hkscs", ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5")),
    "euc-jp": ("euc_jp", ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp")),
    "iso-2022-jp": ("iso2022_jp", ("csiso2022jp", "iso-2022-jp")),
    "shift_jis": (
        "cp932",
        ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"),
    ),
    "euc-kr": (
        "cp949",
        (
            "cseuckr",
            "csksc56011987",
            "euc-kr",
            "iso-ir-149",
            "korean",
            "ks_c_5601-1987",
            "ks_c_5601-1989",
            "ksc5601",
            "ksc_5601",
            "windows-949",
        ),
    ),
    "utf-16be": ("utf-16-be", ("unicodefffe", "utf-16be")),
    "utf-16le": (
        "utf-16-le",
        ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"),
    ),
}

_LABELS: dict[str, str] = {}
for _name, (_codec, _labels) in _ENCODINGS.items():
    _LABELS[_name] = _name
    for _label in _labels:
        _LABELS[_label] = _name
    if _name.startswith("iso-8859-") and _name != "iso-8859-8-i":  # iso8859-N, iso8859N, iso_8859-N
        _part = _name[9:]
        for _label in (f"iso8859-{_part}", f"iso8859{_part}", f"iso_8859-{_part}"):
            _LABELS[_label] = _name
for _n in range(1250, 1259):
    _LABELS[f"cp{_n}"] = _LABELS[f"windows-{_n}"] = _LABELS[f"x-cp{_n}"] = f"windows-{_n}"
    _ENCODINGS.setdefault(f"windows-{_n}", (f"cp{_n}", ()))
_LABELS.update({"cp1252": "windows-1252", "cp1254": "windows-1254"})
_LABELS["x-user-defined"] = "x-user-defined"  # only reachable from the header; see lookup()

#: Python codec (its normalised name) -> WHATWG name, for charset-normalizer's answers.
_FROM_CODEC: dict[str, str] = {codecs.lookup(c).name: n for n, (c, _) in reversed(_ENCODINGS.items())}
_FROM_CODEC.update(
    {
        "latin-1": "windows-1252",
        "iso8859-1": "windows-1252",
        "ascii": "windows-1252",
        "shift_jis": "shift_jis",
        "euc_kr": "euc-kr",
        "gb2312": "gbk",
        "big5": "big5",
        "utf-8": "utf-8",
        "iso8859-11": "windows-874",
        "iso8859-9": "windows-1254",
    }
)

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16le"), (codecs.BOM_UTF16_BE, "utf-16be"))

#: How many bytes charset-normalizer looks at.
DETECT_BYTES = 64 * 1024
#: The WHATWG prescan looks at this many bytes.
PRESCAN_BYTES = 1024

_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_META = re.compile(rb"<meta[\s/]([^>]*)", re.I)
_ATTR = re.compile(rb"""([^\s/>=]+)\s*(?:=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s>]*)))?""")
_CHARSET_IN = re.compile(r"""charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""", re.I)


def lookup(label: str) -> str | None:
    """The WHATWG name for an encoding label (``" Latin1 "`` -> ``"windows-1252"``), or None."""
    name = _LABELS.get(label.strip(" \t\n\f\r").lower())
    if name == "x-user-defined":
        return "windows-1252"
    return name


def codec(name: str) -> str:
    """The Python codec that decodes the WHATWG encoding ``name`` (from :func:`lookup`)."""
    entry = _ENCODINGS.get(name)
    return entry[0] if entry else name


def charset_param(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type value, as a WHATWG name, or None."""
    m = _CHARSET_IN.search(content_type)
    if m is None:
        return None
    return lookup(m.group(1) or m.group(2) or m.group(3) or "")


def bom(body: bytes) -> tuple[str, int] | None:
    """(encoding, BOM length) when ``body`` starts with a byte-order mark."""
    for mark, name in _BOMS:
        if body.startswith(mark):
            return name, len(mark)
    return None


def prescan(body: bytes) -> str | None:
    """The encoding a ``<meta>`` in the first 1024 bytes declares (WHATWG prescan), or None.

    Comments are skipped; the first ``<meta>`` giving a usable ``charset`` attribute, or
    ``http-equiv=content-type`` with a ``content`` holding ``charset=``, wins.
    """
    head = body[:PRESCAN_BYTES]
    if b"<meta" not in head.lower():
        return None
    head = _COMMENT.sub(b"", head)
    for m in _META.finditer(head):
        attrs: dict[bytes, bytes] = {}
        for a in _ATTR.finditer(m.group(1)):
            key = a.group(1).lower()
            if key not in attrs:
                attrs[key] = a.group(2) or a.group(3) or a.group(4) or b""
        name = None
        if b"charset" in attrs:
            name = lookup(attrs[b"charset"].decode("latin-1"))
        elif attrs.get(b"http-equiv", b"").lower() == b"content-type" and b"content" in attrs:
            name = charset_param(attrs[b"content"].decode("latin-1"))
        if name is not None:
            return "utf-8" if name in ("utf-16le", "utf-16be") else name
    return None


def is_utf8(body: bytes) -> bool:
    """Whether ``body`` is valid UTF-8, allowing a sequence cut short at the very end."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.reason == "unexpected end of data" and e.start >= len(body) - 3
    return True


def detect(body: bytes) -> str:
    """charset-normalizer's guess on the first :data:`DETECT_BYTES` bytes; windows-1252 if none."""
    best = from_bytes(body[:DETECT_BYTES]).best()
    if best is None:
        return "windows-1252"
    py = codecs.lookup(best.encoding).name
    return _FROM_CODEC.get(py, py)


def _utf8_or_detect(body: bytes) -> str:
    return "utf-8" if is_utf8(body) else detect(body)


def choose(
    body: bytes,
    content_type: str,
    *,
    charset: str | None = None,
    meta: bool = True,
    fallback: Callable[[bytes], str] = _utf8_or_detect,
) -> tuple[str, int]:
    """(encoding, bytes to skip) for a body: its BOM, ``charset`` (a declaration from outside the
    body), the Content-Type's charset, the ``<meta>`` prescan (when ``meta``), else
    ``fallback(body)`` — by default UTF-8 when it is valid UTF-8, else detection."""
    found = bom(body)
    if found is not None:
        return found
    name = lookup(charset) if charset else None
    if name is None and content_type:
        name = charset_param(content_type)
    if name is None and meta:
        name = prescan(body)
    if name is None:
        name = fallback(body)
    return name, 0


def decode(
    body: bytes,
    content_type: str,
    *,
    charset: str | None = None,
    meta: bool = True,
    fallback: Callable[[bytes], str] = _utf8_or_detect,
) -> tuple[str, str]:
    """(text, WHATWG encoding name) of ``body``, the encoding chosen by :func:`choose`; an
    encoding Python cannot decode falls back to UTF-8. Bad bytes become U+FFFD."""
    name, skip = choose(body, content_type, charset=charset, meta=meta, fallback=fallback)
    try:
        return body[skip:].decode(codec(name), "replace"), name
    except LookupError:
        return body[skip:].decode("utf-8", "replace"), "utf-8"


def sniff(body: bytes, content_type: str) -> tuple[str, int]:
    """(encoding, bytes to skip) for a page: BOM, header, prescan, UTF-8 check, detection."""
    return choose(body, content_type)
