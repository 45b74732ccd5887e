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
    caches: tuple[dict[str, object], dict[str, float | None]] = ({}, {})
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
    caches: tuple[dict[str, object], dict[str, float | None]],
) -> int:
    """One piece of lines; the line number of its last line. ``caches``: the page each request
    line asks for, and the epoch second each minute starts at."""
    requests, minutes = caches
    drops = builder.drops
    visit_at = builder.visit_at
    bots = _BOT_CACHE
    last_when, ts = "", 0.0
    last_vhost, base, site_caches = None, "", builder.caches("")
    parsed = not_a_page = by_bots = 0
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
            or not (parts[6][:1] == " " or (n == 7 and not parts[6]))
            or "\\" in line
            or "\t" in line
            or not line.isascii()
        ):
            _general(line, line_no, path, builder, stats)
            continue
        pre, sb = parts[0], parts[2]
        i = pre.find(" [")
        spaces = pre.count(" ", 0, i)
        # "  " anywhere in pre: an empty token, or a time the regex path calls bad_time.
        if i <= 0 or pre[-2:] != "] " or not 2 <= spaces <= 3 or "  " in pre or pre[0] == " ":
            _general(line, line_no, path, builder, stats)
            continue
        when = pre[i + 2 : -2]
        status, size = sb[1:4], sb[5:-1]
        if (
            sb[:1] != " "
            or sb[4:5] != " "
            or sb[-1:] != " "
            or not status.isdigit()
            or not (size.isdigit() or size == "-")
            or "]" in when
        ):
            _general(line, line_no, path, builder, stats)
            continue
        if when != last_when:
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
        if status not in _OK_TEXT:
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
        vhost = pre[: pre.find(" ")] if spaces == 3 else ""
        if vhost != last_vhost:
            last_vhost = vhost
            host = "" if vhost == "-" else vhost.lower()
            known = builder._bases.get((host, ""))
            base = known if known is not None else builder._base(host, "")
            site_caches = builder.caches(base)
        if base in DROPS:
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
