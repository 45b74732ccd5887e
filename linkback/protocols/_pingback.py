"""Pingback 1.0 (Langridge & Hickson, 2002): the pure parts of the receiver and the sender.

No I/O here. The server hands :func:`parse_request` the raw body of a POST to its XML-RPC
endpoint, turns the result into calls with :func:`pingback_calls`, does the fetching and
storing itself, and answers with :func:`success_response`, :func:`fault_response` or
:func:`multicall_response`. The sender uses :func:`discover_endpoint`, :func:`ping_request`
and :func:`parse_response`.

Security: a pingback request comes from anyone, so it is parsed only through defusedxml with
DTDs, entity declarations and external references all refused (no billion laughs, no XXE), after
a size check, and values are decoded by a small decoder of our own with a nesting limit — not by
``xmlrpc.client.loads``, whose expat parser would expand internal entities. ``xmlrpc.client`` is
used only to *write* XML-RPC, which it does correctly. A server's answer to our own ping is
untrusted too and goes through the same parser.

Fault codes: the Pingback ones are :data:`FAULTS`; malformed XML-RPC uses the "faults_interop"
codes WordPress's IXR server also uses (-32700 parse error, -32600 not conforming, -32601 method
not found, -32602 bad parameters). :class:`~linkback.errors.ProtocolError` carries them as an
``int`` ``code``, so the server can hand ``(e.code, str(e))`` straight to :func:`fault_response`.
"""

from __future__ import annotations

import base64
import binascii
import re
import xmlrpc.client
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

from linkback.errors import ProtocolError

__all__ = [
    "FAULTS",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_REQUEST_BYTES",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "PingbackCall",
    "XmlRpcRequest",
    "discover_endpoint",
    "fault_response",
    "multicall_response",
    "parse_request",
    "parse_response",
    "ping_request",
    "pingback_calls",
    "pingback_link_tag",
    "public_fault",
    "success_response",
]

#: Pingback 1.0 fault codes (spec §"Error codes"). Returning a non-zero code is OPTIONAL; 0 may
#: stand for any of them.
FAULTS: dict[str, int] = {
    "generic": 0,
    "source_not_found": 0x10,
    "no_link": 0x11,
    "target_not_found": 0x20,
    "target_not_supported": 0x21,
    "already_registered": 0x30,
    "access_denied": 0x31,
    "upstream": 0x32,
}

#: XML-RPC "faults_interop" codes (the ones WordPress's IXR_Server answers with).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

#: Deepest array/struct nesting a request may use. A pingback needs 3 (multicall array, struct,
#: params array); the limit keeps the recursive decoder far from Python's recursion limit.
MAX_DEPTH = 16

#: Largest request body :func:`parse_request` reads (the server refuses bigger ones as they
#: stream). A 1-parameter pingback fits in about 500 bytes; this leaves room for a full multicall.
MAX_REQUEST_BYTES = 100_000

_METHOD_NAME = re.compile(r"[A-Za-z0-9_.:/]+")  # the XML-RPC spec's methodName alphabet
_INT = re.compile(r"[+-]?[0-9]{1,20}")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# XML 1.0 forbids these characters even as references; xmlrpc.client writes them unescaped,
# which would make our own answer unparsable, so they become U+FFFD first.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class PingbackCall:
    """One ``pingback.ping(sourceURI, targetURI)``: the URLs as sent (trimmed, ``&amp;`` undone)."""

    source: str
    target: str


@dataclass(frozen=True)
class XmlRpcRequest:
    """A parsed XML-RPC ``methodCall``: the method name and its decoded parameters.

    Values decode to what ``xmlrpc.client.loads`` gives (and compare equal to it): str, int,
    bool, float, bytes (base64), :class:`xmlrpc.client.DateTime` (its text, not parsed), list
    (array), dict (struct), None (``<nil/>``); ``params`` is a tuple like ``loads``' first item.
    """

    method: str
    params: tuple


# --- reading XML-RPC ----------------------------------------------------------------------------


def _local(tag: Any) -> str:
    # Apache's extensions come namespaced (<ex:nil/>, <ex:i8>); the type is the local name.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse_xml(body: bytes) -> Element:
    """Parse untrusted XML: no DTD at all, so no entity can be declared or fetched."""
    # IXR trims the message before parsing; expat refuses an XML declaration after whitespace.
    data = body.lstrip(b" \t\r\n")
    try:
        return _safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise ProtocolError(f"parse error: not allowed in XML-RPC: {e}", code=PARSE_ERROR) from None
    except ParseError as e:
        raise ProtocolError(f"parse error: not well formed: {e}", code=PARSE_ERROR) from None
    except (ValueError, LookupError) as e:  # an encoding expat cannot use, a NUL in the input
        raise ProtocolError(f"parse error: {e}", code=PARSE_ERROR) from None


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(f"invalid XML-RPC: {message}", code=INVALID_REQUEST)


def _only_space(text: str | None) -> bool:
    return text is None or not text.strip()


def _children(el: Element, where: str) -> list[Element]:
    """The child elements of a container element, which may hold whitespace but no other text."""
    if not _only_space(el.text) or any(not _only_space(c.tail) for c in el):
        raise _invalid(f"text inside <{where}>")
    return list(el)


def _leaf_text(el: Element, kind: str) -> str:
    if len(el):
        raise _invalid(f"<{kind}> holds elements")
    return el.text or ""


def _decode_value(value: Element, depth: int) -> Any:
    """One ``<value>``: a typed child element, or bare text ("if no type is indicated, the type
    is string")."""
    if depth > MAX_DEPTH:
        raise _invalid(f"values nested deeper than {MAX_DEPTH}")
    if not len(value):
        return value.text or ""
    typed = _children(value, "value")
    if len(typed) != 1:
        raise _invalid("<value> holds more than one element")
    el = typed[0]
    kind = _local(el.tag)
    if kind == "string":
        return _leaf_text(el, kind)
    if kind in ("i4", "int", "i8"):
        text = _leaf_text(el, kind).strip()
        if not _INT.fullmatch(text):
            raise _invalid(f"<{kind}>{text[:40]!r}")
        return int(text)
    if kind == "boolean":
        text = _leaf_text(el, kind).strip()
        if text not in ("0", "1"):
            raise _invalid(f"<boolean>{text[:40]!r}")
        return text == "1"
    if kind == "double":
        text = _leaf_text(el, kind).strip()
        if not _DOUBLE.fullmatch(text):
            raise _invalid(f"<double>{text[:40]!r}")
        return float(text)
    if kind == "base64":
        try:
            # Line breaks are usual in base64; anything else outside the alphabet is an error.
            return base64.b64decode("".join(_leaf_text(el, kind).split()), validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("<base64> is not base64") from None
    if kind == "dateTime.iso8601":
        return xmlrpc.client.DateTime(_leaf_text(el, kind).strip())
    if kind == "nil":
        if len(el) or not _only_space(el.text):
            raise _invalid("<nil> is not empty")
        return None
    if kind == "array":
        data = _children(el, "array")
        if len(data) != 1 or data[0].tag != "data":
            raise _invalid("<array> without one <data>")
        out = []
        for v in _children(data[0], "data"):
            if v.tag != "value":
                raise _invalid(f"<{_local(v.tag)}> inside <data>")
            out.append(_decode_value(v, depth + 1))
        return out
    if kind == "struct":
        members: dict[str, Any] = {}
        for m in _children(el, "struct"):
            parts = _children(m, "member") if m.tag == "member" else None
            if parts is None or len(parts) != 2:
                raise _invalid("<struct> member is not <member><name/><value/></member>")
            name_el, val_el = sorted(parts, key=lambda p: p.tag != "name")  # either order
            if name_el.tag != "name" or val_el.tag != "value":
                raise _invalid("<member> without <name> and <value>")
            members[_leaf_text(name_el, "name")] = _decode_value(val_el, depth + 1)
        return members
    raise _invalid(f"unknown value type <{kind}>")


def _decode_params(params: Element) -> tuple:
    out = []
    for p in _children(params, "params"):
        if p.tag != "param":
            raise _invalid(f"<{_local(p.tag)}> inside <params>")
        values = _children(p, "param")
        if len(values) != 1 or values[0].tag != "value":
            raise _invalid("<param> without exactly one <value>")
        out.append(_decode_value(values[0], 1))
    return tuple(out)


def parse_request(body: bytes, *, max_bytes: int = MAX_REQUEST_BYTES) -> XmlRpcRequest:
    """Parse the body of a POST to the XML-RPC endpoint.

    Raises :class:`ProtocolError` with ``code`` -32700 when the body is not well-formed XML or
    uses a DTD (entity declarations, external entities: refused before anything is expanded),
    and -32600 when it is bigger than ``max_bytes`` or is not a conforming ``methodCall``.
    """
    if len(body) > max_bytes:
        raise ProtocolError(f"request too large: more than {max_bytes} bytes", code=INVALID_REQUEST)
    root = _parse_xml(bytes(body))
    if root.tag != "methodCall":
        raise _invalid(f"request must be a methodCall, not <{root.tag}>")
    name_el: Element | None = None
    params: tuple = ()
    seen: set[str] = set()
    for child in _children(root, "methodCall"):
        if child.tag in seen or child.tag not in ("methodName", "params"):
            raise _invalid(f"unexpected <{child.tag}> in <methodCall>")
        seen.add(child.tag)
        if child.tag == "methodName":
            name_el = child
        else:
            params = _decode_params(child)
    if name_el is None:
        raise _invalid("no <methodName>")
    method = _leaf_text(name_el, "methodName").strip()  # IXR trims it too
    if not _METHOD_NAME.fullmatch(method):
        raise _invalid(f"bad methodName {method[:80]!r}")
    return XmlRpcRequest(method=method, params=params)


def _ping_call(params: Any) -> PingbackCall:
    if not isinstance(params, (list, tuple)) or len(params) != 2:
        n = len(params) if isinstance(params, (list, tuple)) else "non-array"
        raise ProtocolError(f"pingback.ping takes 2 parameters (sourceURI, targetURI), got {n}", code=INVALID_PARAMS)
    urls = []
    for what, value in zip(("sourceURI", "targetURI"), params):
        if not isinstance(value, str):
            raise ProtocolError(f"pingback.ping: {what} must be a string", code=INVALID_PARAMS)
        # Trimmed as IXR does. "&amp;" is undone as WordPress does: senders (WordPress among
        # them) send the href as written in the HTML source, where "&" is "&amp;".
        value = value.strip().replace("&amp;", "&")
        if not value:
            raise ProtocolError(f"pingback.ping: empty {what}", code=INVALID_PARAMS)
        urls.append(value)
    return PingbackCall(source=urls[0], target=urls[1])


def pingback_calls(req: XmlRpcRequest, *, max_multicall: int = 10) -> list[PingbackCall | ProtocolError]:
    """The pingbacks a request asks for.

    * ``pingback.ping`` → ``[PingbackCall]``; wrong parameters raise (-32602).
    * ``system.multicall`` → one entry per call, in order: a :class:`PingbackCall`, or a
      :class:`ProtocolError` for that entry alone (-32601 another method, -32602 bad parameters,
      -32600 not a ``{methodName, params}`` struct or a nested multicall) — the server answers
      each with a fault struct in :func:`multicall_response`. More than ``max_multicall`` entries
      raise for the whole request (-32600): multicall is how one request asks a blog to fetch
      many sources (the pingback DDoS amplifier), so it is refused before anything is fetched.
    * anything else raises -32601 (method not found).

    URLs are not validated here beyond being non-empty strings: the server checks them with
    :mod:`linkback.urls` and answers faults 0/16/32/33 as it decides.
    """
    if req.method == "pingback.ping":
        return [_ping_call(req.params)]
    if req.method != "system.multicall":
        raise ProtocolError(f"server error. requested method {req.method} does not exist.", code=METHOD_NOT_FOUND)
    if len(req.params) != 1 or not isinstance(req.params[0], list):
        raise ProtocolError("system.multicall takes one array of method calls", code=INVALID_PARAMS)
    entries = req.params[0]
    if len(entries) > max_multicall:
        raise ProtocolError(
            f"system.multicall: {len(entries)} calls, at most {max_multicall} allowed", code=INVALID_REQUEST
        )
    out: list[PingbackCall | ProtocolError] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("methodName"), str):
            out.append(_invalid("each multicall entry must be a struct with a string methodName"))
            continue
        method = entry["methodName"]
        if method == "system.multicall":
            out.append(ProtocolError("Recursive calls to system.multicall are forbidden", code=INVALID_REQUEST))
        elif method != "pingback.ping":
            out.append(
                ProtocolError(f"server error. requested method {method[:80]} does not exist.", code=METHOD_NOT_FOUND)
            )
        else:
            try:
                out.append(_ping_call(entry.get("params", [])))
            except ProtocolError as e:
                out.append(e)
    return out


# --- writing XML-RPC ----------------------------------------------------------------------------


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _dump_response(values: Any) -> bytes:
    return xmlrpc.client.dumps(values, methodresponse=True, encoding="utf-8").encode("utf-8")


def success_response(message: str) -> bytes:
    """The methodResponse for a registered pingback: one string (debug text for the sender)."""
    return _dump_response((_xml_safe(message),))


def fault_response(code: int, message: str) -> bytes:
    """A methodResponse ``<fault>`` with ``faultCode`` and ``faultString``."""
    return _dump_response(xmlrpc.client.Fault(int(code), _xml_safe(message)))


def multicall_response(results: list[str | tuple[int, str]]) -> bytes:
    """The answer to ``system.multicall``, one entry per call in order: a success is a 1-element
    array ``[message]``, a fault ``(code, message)`` a struct ``{faultCode, faultString}``."""
    out: list[Any] = []
    for r in results:
        if isinstance(r, str):
            out.append([_xml_safe(r)])
        else:
            code, message = r
            out.append({"faultCode": int(code), "faultString": _xml_safe(message)})
    return _dump_response((out,))


def public_fault(code: int, message: str, *, generic: bool) -> tuple[int, str]:
    """The fault to show the sender.

    With ``generic`` (WordPress's default ``xmlrpc_pingback_error`` filter) every Pingback fault
    but 48 becomes ``(0, "")``, so the endpoint reveals nothing about which sources it could
    fetch or which posts exist (the reason WordPress added it: pingback as a port scanner).
    48 stays so senders stop retrying. XML-RPC protocol faults (negative codes: parse error,
    unknown method...) are kept, as in WordPress, where the IXR server raises them outside the
    filter; they say nothing about the site.
    """
    if not generic or code == FAULTS["already_registered"] or code < 0:
        return code, message
    return FAULTS["generic"], ""


# --- sender side --------------------------------------------------------------------------------

# The spec's client regex; the spec RECOMMENDS clients be no more lenient than this. The one
# change: the href is bounded (by urls.MAX_URL_LENGTH, longer ones are refused anyway), so a
# page of unclosed hrefs cannot make the search quadratic.
_LINK = re.compile(rb'<link rel="pingback" href="([^"]{1,8192})" ?/?>')
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"'}
_ENTITY = re.compile("&(?:amp|lt|gt|quot);")


def _expand(text: str) -> str:
    # One pass, so "&amp;lt;" gives "&lt;" and not "<".
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], text)


def discover_endpoint(headers: Iterable[tuple[str, str]], body: bytes | str) -> str | None:
    """The pingback server URL a target page advertises, per the spec's client algorithm.

    The first ``X-Pingback`` header (any case) with a non-empty value wins over the body. Else the
    first match of ``<link rel="pingback" href="([^"]+)" ?/?>`` in ``body`` (exactly that
    spelling and attribute order), with only ``&amp; &lt; &gt; &quot;`` expanded. None when the
    page has neither. The URL is returned as found: the caller checks it (absolute http(s),
    SSRF guard) before posting to it. The caller may pass just the head of the body (the spec
    allows reading only the first KB).
    """
    for name, value in headers:
        if name.strip().lower() == "x-pingback" and value.strip():
            return value.strip()
    data = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else bytes(body)
    m = _LINK.search(data)
    if m is None:
        return None
    raw = m.group(1)
    try:
        href = raw.decode("utf-8")
    except UnicodeDecodeError:
        href = raw.decode("latin-1")  # a legacy-encoded page; a valid endpoint is ASCII anyway
    return _expand(href)


def pingback_link_tag(endpoint: str) -> str:
    """``<link rel="pingback" href="...">`` exactly as the spec's client regex expects, with only
    the four entities the spec allows escaped (``&`` first, so nothing is escaped twice)."""
    href = endpoint.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return f'<link rel="pingback" href="{href}">'


def ping_request(source: str, target: str) -> bytes:
    """The XML-RPC body of ``pingback.ping(source, target)``, UTF-8."""
    return xmlrpc.client.dumps((_xml_safe(source), _xml_safe(target)), methodname="pingback.ping").encode("utf-8")


def parse_response(body: bytes) -> tuple[bool, int, str]:
    """Read a pingback server's answer: ``(ok, fault_code, message)``.

    A methodResponse with a value → ``(True, 0, message)`` (the spec's success is one string;
    another type still means "accepted" and gives ``message=""``). A fault → ``(False, code,
    faultString)``; fault 48 (already registered) comes back as ``(False, 48, ...)`` and the
    caller records it as done, as WordPress does. Garbage → ``(False, -32700, ...)`` when it is
    not XML, ``(False, -32600, ...)`` when it is XML but not a methodResponse; these codes are
    never Pingback fault codes, so a caller can tell "the server said no" from "no answer".
    """
    try:
        root = _parse_xml(bytes(body))
        if root.tag != "methodResponse":
            raise _invalid(f"not a methodResponse: <{root.tag}>")
        parts = _children(root, "methodResponse")
        if len(parts) != 1:
            raise _invalid("methodResponse without one <params> or <fault>")
        part = parts[0]
        if part.tag == "fault":
            values = _children(part, "fault")
            if len(values) != 1 or values[0].tag != "value":
                raise _invalid("<fault> without one <value>")
            fault = _decode_value(values[0], 1)
            if not isinstance(fault, dict):
                raise _invalid("fault is not a struct")
            code = fault.get("faultCode", 0)
            if isinstance(code, str) and _INT.fullmatch(code.strip()):
                code = int(code)  # some servers send the code as a string
            if isinstance(code, bool) or not isinstance(code, int):
                code = 0
            text = fault.get("faultString", "")
            return False, code, text if isinstance(text, str) else str(text)
        if part.tag != "params":
            raise _invalid(f"unexpected <{part.tag}> in methodResponse")
        params = _decode_params(part)
        if len(params) != 1:
            raise _invalid(f"{len(params)} values in a methodResponse")
        value = params[0]
        return True, 0, value if isinstance(value, str) else ""
    except ProtocolError as e:
        return False, int(e.code), f"malformed response: {e}"
