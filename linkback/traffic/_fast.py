"""The hot loop for combined logs: lines straight into visits, without a :data:`Hit` per line.

Most lines of a combined log are plain ASCII without escapes; for those the fields are cut at the
quotes, the checks the regex would make are made on the pieces, and what repeats (the request
line, the time, the User-Agent, the referrer, the page) is looked up in caches. Every line this
path does not accept as plainly well-formed goes to :func:`~linkback.traffic._formats.parse_combined`
and :meth:`~linkback.traffic._visits.VisitBuilder.add_hit`, which decide it as for any format: the
two paths give the same visits and counts (tests/test_traffic_formats.py checks it line by line).
"""

from __future__ import annotations

from linkback.traffic._files import STREAM_ERRORS, LogStats, iter_line_chunks, open_counted, stream_broke
from linkback.traffic._formats import _clf_epoch, _split_request, parse_combined
from linkback.traffic._lists import _BOT_CACHE, is_bot
from linkback.traffic._visits import _OK, CACHE_SIZE, DROPS, VisitBuilder, _is_page

__all__ = ["read_combined_visits"]

_OK_TEXT = frozenset(str(code) for code in _OK)
_MISSING = object()
#: What the head of a status-and-size field (``" 200 "``) says: :data:`_PAGE_STATUS`, another
#: well-formed status, or a malformed one (the line goes to the general path).
_PAGE_STATUS, _OTHER_STATUS, _BAD_STATUS = 1, 0, -1


def _status_kind(head: str) -> int:
    """:data:`_PAGE_STATUS`, :data:`_OTHER_STATUS` or :data:`_BAD_STATUS` for the first five
    characters of the field after the request (a space, three digits, a space)."""
    if len(head) == 5 and head[0] == " " and head[4] == " " and head[1:4].isdigit():
        return _PAGE_STATUS if head[1:4] in _OK_TEXT else _OTHER_STATUS
    return _BAD_STATUS


def _plain(chunk: list[str | None]) -> bool:
    """Whether no line of ``chunk`` is too long or has a backslash, a tab or a non-ASCII byte:
    one look at the whole piece instead of three at each line (the usual answer is yes)."""
    try:
        text = "\n".join(chunk)  # type: ignore[arg-type]
    except TypeError:  # a None: a line too long
        return False
    return text.isascii() and "\\" not in text and "\t" not in text


def _page_target(request: str) -> str:
    """The target of a request line when it asks for a page (``GET``, a path, no sub-resource),
    else ``""``."""
    method, target = _split_request(request)
    return target if _is_page(method, 200, target) else ""


def read_combined_visits(path: str, builder: VisitBuilder, stats: LogStats, cap: int) -> None:
    """Read the combined log at ``path`` into ``builder``, counting in ``stats`` as
    :func:`~linkback.traffic._read.read_hits` does."""
    fh = open_counted(path, stats)
    if fh is None:
        return
    stats.files += 1
    stats.formats["combined"] += 1
    line_no = 0
    caches: tuple[dict[str, object], dict[str, float | None], dict[str, int]] = ({}, {}, {})
    with fh:
        chunks = iter_line_chunks(fh, cap)
        while True:
            try:
                chunk = next(chunks, None)
            except STREAM_ERRORS as exc:
                stream_broke(stats, path, line_no, exc)
                return
            if chunk is None:
                return
            line_no = _chunk(chunk, line_no, path, builder, stats, cap, caches)
            for cache in caches:
                if len(cache) > CACHE_SIZE:
                    cache.clear()


def _chunk(
    chunk: list[str | None],
    line_no: int,
    path: str,
    builder: VisitBuilder,
    stats: LogStats,
    cap: int,
    caches: tuple[dict[str, object], dict[str, float | None], dict[str, int]],
) -> int:
    """One piece of lines; the line number of its last line. ``caches``: the page each request
    line asks for, the epoch second each minute starts at, and :func:`_status_kind` by head."""
    requests, minutes, statuses = caches
    drops = builder.drops
    visit_at = builder.visit_at
    bots = _BOT_CACHE
    last_when, ts = "", 0.0
    last_vhost, base, dropped, site_caches = None, "", False, builder.caches("")
    parsed = not_a_page = by_bots = 0
    plain = _plain(chunk)
    for line in chunk:
        line_no += 1
        if line is None:
            stats.skip("too_long", path, line_no, f"longer than {cap} bytes")
            continue
        parts = line.split('"')
        n = len(parts)
        if (
            n < 7
            or parts[4] != " "
            or not ((n == 7 and not parts[6]) or parts[6][:1] == " ")
            or (not plain and ("\\" in line or "\t" in line or not line.isascii()))
        ):
            _general(line, line_no, path, builder, stats)
            continue
        pre, sb = parts[0], parts[2]
        # partition and split, not find and count: those parse their arguments the slow way.
        head, bracket, rest = pre.partition(" [")
        tokens = head.split(" ")  # [vhost] host ident user
        # "  " anywhere in pre: an empty token, or a time the regex path calls bad_time.
        if not head or not bracket or pre[-2:] != "] " or not 3 <= len(tokens) <= 4 or "  " in pre or pre[0] == " ":
            _general(line, line_no, path, builder, stats)
            continue
        when = rest[:-2]
        status_head, size = sb[:5], sb[5:-1]
        kind = statuses.get(status_head)
        if kind is None:
            kind = statuses[status_head] = _status_kind(status_head)
        if kind == _BAD_STATUS or sb[-1:] != " " or not (size.isdigit() or size == "-"):
            _general(line, line_no, path, builder, stats)
            continue
        if when != last_when:
            if "]" in when:  # (the same time as the line before has passed this)
                _general(line, line_no, path, builder, stats)
                continue
            # "10/Oct/2000:13:55" and the zone name a minute; its seconds are added here.
            got: float | None = None
            if len(when) == 26 and when[17] == ":" and when[20] == " " and when[18:20].isdigit() and when[18] < "6":
                minute = when[:17] + when[20:]
                start = minutes.get(minute, -1.0)
                if start == -1.0:
                    start = minutes[minute] = _clf_epoch(when[:18] + "00" + when[20:])
                if start is not None:
                    got = start + int(when[18:20])
            else:
                got = _clf_epoch(when)
            if got is None:
                _general(line, line_no, path, builder, stats)  # bad_time, counted there
                continue
            last_when, ts = when, got
        parsed += 1
        if kind != _PAGE_STATUS:
            not_a_page += 1
            continue
        request = parts[1]
        target = requests.get(request, _MISSING)
        if target is _MISSING:
            target = requests[request] = _page_target(request)
        if not target:
            not_a_page += 1
            continue
        agent = parts[5]
        bot = bots.get(agent)
        if bot is None:
            bot = is_bot("" if agent == "-" else agent)
        if bot:
            by_bots += 1
            continue
        vhost = tokens[0] if len(tokens) == 4 else ""
        if vhost != last_vhost:
            last_vhost = vhost
            host = "" if vhost == "-" else vhost.lower()
            known = builder._bases.get((host, ""))
            base = known if known is not None else builder._base(host, "")
            site_caches = builder.caches(base)
            dropped = base in DROPS
        if dropped:
            drops[base] += 1
            continue
        referer = parts[3]
        visit_at(base, site_caches, line, ts, target, "" if referer == "-" else referer)  # type: ignore[arg-type]
    stats.lines += len(chunk)
    stats.parsed += parsed
    if not_a_page:
        drops["not_a_page"] += not_a_page
    if by_bots:
        drops["bot"] += by_bots
    return line_no


def _general(line: str, line_no: int, path: str, builder: VisitBuilder, stats: LogStats) -> None:
    """A line the fast path does not take: parsed and classified as any format's are. (Its
    ``lines`` count is the chunk's.)"""
    hit = parse_combined(line)
    if isinstance(hit, str):
        stats.skip(hit, path, line_no, line)
        return
    stats.parsed += 1
    stats.latin1_lines += hit[9]
    builder.add_hit(hit, line)
