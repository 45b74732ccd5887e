"""``linkback import`` on damaged CSV: stray quotes, bytes that are not UTF-8, cells too large.

Each file is built here, as the hostile round's inputs were: the damage is the point, so it is
written out rather than kept as a fixture that could be "repaired" by an editor.
"""

from __future__ import annotations

import pytest

from linkback.imports._claims import ParsedFile, parse_file
from linkback.imports._csvread import MAX_FIELD_CHARS, decode
from linkback.imports._formats import UnrecognisedFile

MAJESTIC = "Source URL,Target URL,Anchor Text,SourceTrustFlow\n"
AHREFS = "Referring page URL,Target URL,Anchor,Domain rating\n"


def parse(text: str | bytes) -> ParsedFile:
    return parse_file("export.csv", text.encode() if isinstance(text, str) else text)


def anchors(parsed: ParsedFile) -> dict[int, str]:
    return {c.line: c.values.get("anchor", "") for c in parsed.claims}


def test_two_stray_quotes_cost_their_own_rows_not_the_rows_between_them() -> None:
    parsed = parse(
        MAJESTIC
        + 'http://a.example.org/1,http://example.com/,"Best tools,10\n'
        + "http://b.example.org/2,http://example.com/,innocent,20\n"
        + 'http://c.example.org/3,http://example.com/,Monitor 30",30\n'
        + "http://d.example.org/4,http://example.com/,fine,40\n"
    )
    assert (parsed.rows, parsed.rejected) == (4, 1)
    assert parsed.rejects[0]["line"] == 2 and "unbalanced quotes" in parsed.rejects[0]["reason"]
    assert anchors(parsed) == {3: "innocent", 4: 'Monitor 30"', 5: "fine"}  # an inch mark is text
    assert [c.metrics["tf"] for c in parsed.claims] == [20, 30, 40]


def test_a_quoted_anchor_with_line_breaks_is_one_row() -> None:
    parsed = parse(
        AHREFS
        + 'https://a.example.org/1,https://example.com/,"Best tools,\nfor 2024",10\n'
        + 'https://a.example.org/2,https://example.com/,"three\nline\nanchor",20\n'
        + "https://a.example.org/3,https://example.com/,ok,30\n"
    )
    assert (parsed.rows, parsed.rejected) == (3, 0)
    assert anchors(parsed) == {2: "Best tools, for 2024", 4: "three line anchor", 7: "ok"}  # spaces folded


def test_rows_written_inside_a_quoted_cell_are_never_claims() -> None:
    parsed = parse(
        "Referring page URL,Target URL,Anchor,Domain rating,First seen\n"
        + 'https://a.example.org/1,https://example.com/,"anchor text\n'
        + "https://evil.example/y,https://example.com/zz,inv,1,2024-01-01\n"
        + 'end",10,2024-01-01,EXTRA\n'
        + "https://a.example.org/2,https://example.com/,ok,10,2024-01-01\n"
    )
    assert [c.source_url for c in parsed.claims] == ["https://a.example.org/2"]
    assert (parsed.rows, parsed.rejected) == (2, 1)
    assert parsed.rejects[0]["line"] == 2 and "lines 2-4, one record" in parsed.rejects[0]["reason"]


def test_one_byte_that_is_not_utf8_refuses_its_row_not_the_files_encoding() -> None:
    rows = "".join(f"https://a.example.org/{i},https://example.com/,Café Zürich {i},1\n" for i in range(30))
    latin1 = "https://b.example.org/x,https://example.com/,Café,1\n".encode("latin-1")
    parsed = parse(AHREFS.encode() + rows.encode() + latin1 + rows.encode())
    assert parsed.encoding == "utf-8"
    assert anchors(parsed)[2] == "Café Zürich 0"
    assert parsed.rejects == [{"line": 32, "reason": parsed.rejects[0]["reason"]}]
    assert "not UTF-8: byte 0xE9" in parsed.rejects[0]["reason"]
    # A file cut in the middle of a character: the cut row is refused, the rest is UTF-8.
    cut = parse(AHREFS.encode() + rows.encode() + "https://c.example.org/,https://example.com/,Caf".encode() + b"\xc3")
    assert cut.encoding == "utf-8" and (cut.rows, cut.rejected) == (31, 1)
    assert all("Café Zürich" in a for a in anchors(cut).values())
    # However few characters not ASCII it holds (one here, where a stray byte would tip it to cp1252).
    short = parse(AHREFS.encode() + "https://d.example.org/,https://example.com/,Café,1\n".encode() + b"https://e.example.org/,x\xc3")
    assert short.encoding == "utf-8" and short.rejected == 1 and list(anchors(short).values()) == ["Café"]


def test_a_windows_1252_file_is_still_read_as_windows_1252() -> None:
    rows = "".join(f"https://a.example.org/{i},https://example.com/,Café “Zürich” – {i},1\n" for i in range(30))
    # A few high-byte pairs that happen to be UTF-8 ("Ã©" is C3 A9) do not make it UTF-8.
    parsed = parse((AHREFS + rows + "https://m.example.org/,https://example.com/,Ã©,1\n").encode("cp1252"))
    assert (parsed.encoding, parsed.rejected) == ("cp1252", 0)
    assert anchors(parsed)[2] == "Café “Zürich” – 0"


def test_a_field_over_the_limit_is_one_refused_row() -> None:
    cell = "A" * 60 + ",\n"
    big = '"' + cell * (MAX_FIELD_CHARS // len(cell) + 10) + '"'
    lines = big.count("\n")
    parsed = parse(
        AHREFS
        + "https://ok.example.org/1,https://example.com/,a1,1\n"
        + f"https://big.example.org/x,https://example.com/,{big},1\n"
        + "https://ok.example.org/2,https://example.com/,a2,1\n"
    )
    assert (parsed.rows, parsed.rejected) == (3, 1)
    assert parsed.rejects[0]["line"] == 3 and "field larger than field limit" in parsed.rejects[0]["reason"]
    assert [c.line for c in parsed.claims] == [2, 4 + lines]


def test_utf16_without_its_bom_is_read_whatever_letter_the_header_starts_with() -> None:
    # A Hebrew Search Console export that lost its BOM: its first character, U+05D0, is D0 05,
    # no zero byte; the zeros of the commas, line ends and URLs tell all the same.
    export = "אתר,דפים מקשרים\nblog.example.org,3\nnews.example.net,12\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        parsed = parse_file("gsc.csv", export.encode(encoding), site="example.com")
        assert (parsed.format.name, parsed.encoding, parsed.rejected) == ("gsc-linking-sites", encoding, 0)
        assert [c.source_host for c in parsed.claims] == ["blog.example.org", "news.example.net"]


def test_zero_bytes_in_utf8_or_windows_1252_do_not_make_it_utf16() -> None:
    rows = "".join(f"https://a.example.org/{i},https://example.com/,Café {i},1\n" for i in range(30))
    assert decode((AHREFS + rows).encode())[1] == "utf-8"
    assert decode((AHREFS + rows).encode("cp1252"))[1] == "cp1252"
    # Stray zeros (a damaged file) fall at odd and even offsets alike.
    assert decode(b"\x00\x00" + (AHREFS + rows).encode() + b"\x00" * 7)[1] == "utf-8"


def test_a_header_byte_that_is_not_utf8_is_shown_unreadable_and_costs_no_row() -> None:
    rows = "".join(f"https://a.example.org/{i},https://example.com/,Café Zürich {i},1,x\n" for i in range(30))
    header = AHREFS.rstrip("\n").encode() + b",Notes \xe9t\xe9\n"  # one column name in Latin-1
    parsed = parse(header + rows.encode())
    assert (parsed.encoding, parsed.rows, parsed.rejected) == ("utf-8", 30, 0)
    assert parsed.ignored == ("Notes \ufffdt\ufffd",)
    # A column the format needs, so damaged, cannot be matched: the error shows it unreadable.
    with pytest.raises(UnrecognisedFile) as refused:
        parse(b"Referring page URL,Targ\xe9t URL,Anchor,Domain rating,Notes\n" + rows.encode())
    assert "'Targ\ufffdt URL'" in str(refused.value) and "\\udc" not in ascii(str(refused.value))


def test_an_inch_mark_does_not_end_a_quoted_cell_that_is_skipped() -> None:
    cell = "A" * 60 + ",\n"
    inside = 'TV 5" wide\n' + "https://evil.example/y,https://example.com/zz,inv,1\n"
    big = '"' + cell * (MAX_FIELD_CHARS // len(cell) + 10) + inside + 'end ""quoted"" too"'
    parsed = parse(
        AHREFS
        + "https://ok.example.org/1,https://example.com/,a1,1\n"
        + f"https://big.example.org/x,https://example.com/,{big},1\n"
        + "https://ok.example.org/2,https://example.com/,a2,1\n"
    )
    assert [c.source_url for c in parsed.claims] == ["https://ok.example.org/1", "https://ok.example.org/2"]
    assert (parsed.rows, parsed.rejected) == (3, 1)
    assert "field larger than field limit" in parsed.rejects[0]["reason"]
    # A small cell, its inch mark refused by CSV itself: the lines up to its end are one record.
    small = parse(
        AHREFS
        + 'https://a.example.org/1,https://example.com/,"three\nTV 5" wide\n'
        + "https://evil.example/y,https://example.com/zz,inv,1\n"
        + 'end",20\n'
        + "https://a.example.org/2,https://example.com/,ok,30\n"
    )
    assert [c.source_url for c in small.claims] == ["https://a.example.org/2"]
    assert small.rejected == 1 and "lines 2-5, one record" in small.rejects[0]["reason"]
