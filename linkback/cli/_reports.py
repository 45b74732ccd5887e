"""Report commands: each calls the :mod:`linkback.reports` function of the same name with the same
parameter names (DESIGN §6; sqlite-utils style). Shared options come from :mod:`._output`."""

import shlex
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkback import reports
from linkback.cli._app import app
from linkback.cli._output import DbOption, Format, Report, as_of, fail, open_store, report_command
from linkback.records import LINK_KINDS, SECTIONS
from linkback.reports._cursor import next_cursor
from linkback.store import Store


def _choices(name: str, values) -> type[Enum]:
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


if TYPE_CHECKING:
    # The choices are Enums made at run time from the reports' tuples of values (one list to keep),
    # which a type checker cannot follow: to it, each is a str-valued Enum.
    class _Choice(str, Enum):
        pass

    Kind = _Choice
    Section = _Choice
    BacklinkSort = _Choice
    RefdomainSort = _Choice
    AnchorSort = _Choice
    PageSort = _Choice
    DomainSort = _Choice
    DomainGroup = _Choice
    Period = _Choice
    ExportTable = _Choice
    ExportFormat = _Choice
else:
    Kind = _choices("Kind", LINK_KINDS)
    Section = _choices("Section", SECTIONS)
    BacklinkSort = _choices("BacklinkSort", reports.BACKLINK_SORTS)
    RefdomainSort = _choices("RefdomainSort", reports.REFDOMAIN_SORTS)
    AnchorSort = _choices("AnchorSort", reports.ANCHOR_SORTS)
    PageSort = _choices("PageSort", reports.PAGE_SORTS)
    DomainSort = _choices("DomainSort", reports.DOMAIN_SORTS)
    DomainGroup = _choices("DomainGroup", reports.DOMAIN_GROUPS)
    Period = _choices("Period", reports.PERIODS)
    ExportTable = _choices("ExportTable", reports.EXPORT_TABLES)
    ExportFormat = _choices("ExportFormat", reports.EXPORT_FORMATS)

TargetArg = Annotated[
    str,
    typer.Argument(
        metavar="TARGET",
        help="A domain (example.com: all its hosts), a host (www.example.com) or a URL prefix "
        "(https://example.com/blog/).",
        show_default=False,
    ),
]
Follow = Annotated[
    bool | None,
    typer.Option("--follow", help="Only followed links (not nofollow, ugc or sponsored, not on a noindex page)."),
]
Nofollow = Annotated[bool | None, typer.Option("--nofollow", help="Only nofollow links (rel or page-level).")]
Ugc = Annotated[bool | None, typer.Option("--ugc", help="Only rel=ugc links.")]
Sponsored = Annotated[bool | None, typer.Option("--sponsored", help="Only rel=sponsored links.")]
Noindex = Annotated[
    bool | None,
    typer.Option(
        "--noindex/--no-noindex",
        help="Only links on pages marked noindex (shown to readers, passing no authority) / none of those.",
        show_default=False,
    ),
]
KindOpt = Annotated[list[Kind] | None, typer.Option("--kind", help="Only links of this kind (repeatable).")]
SectionOpt = Annotated[
    list[Section] | None, typer.Option("--section", help="Only links in this page section (repeatable).")
]
FromOpt = Annotated[
    str | None, typer.Option("--from", metavar="DOMAIN", help="Only links from this referring domain or host.")
]
FromUrlOpt = Annotated[
    str | None,
    typer.Option("--from-url", metavar="URL", help="Only links on this referring page (its URL exactly, as listed)."),
]
AnchorOpt = Annotated[
    str | None, typer.Option("--anchor", metavar="TEXT", help="Only links whose anchor contains TEXT (any case).")
]
Internal = Annotated[
    bool, typer.Option("--internal", help="Links inside the target's own site instead of from other sites.")
]
IncludeLost = Annotated[bool, typer.Option("--include-lost", help="Include lost links (lost_at, lost_reason).")]
After = Annotated[
    str | None,
    typer.Option(
        "--after",
        metavar="TOKEN",
        help="The next page: the rows after this cursor (a full table prints the command).",
        show_default=False,
    ),
]


def _values(chosen: list[Enum] | None) -> list[str] | None:
    return [c.value for c in chosen] if chosen else None


_FILTERS = (
    "follow",
    "nofollow",
    "ugc",
    "sponsored",
    "noindex",
    "kind",
    "section",
    "from_domain",
    "anchor",
    "internal",
    "include_lost",
)


def _filters(params: dict[str, Any]) -> dict[str, Any]:
    """The link filters among a command's parameters, as the report functions take them."""
    out = {name: params[name] for name in _FILTERS}
    out["kind"], out["section"] = _values(out["kind"]), _values(out["section"])
    return out


def _links(internal: bool, include_lost: bool, noun: str = "backlinks") -> str:
    return f"{'internal ' if internal else ''}{'live and lost ' if include_lost else ''}{noun}"


def _next_page_hint(
    ctx: typer.Context, report: str, sort: str, rows: Sequence[dict[str, Any]], limit: int | None
) -> None:
    """Under a table of exactly ``--limit`` rows, the command for the next page (``--after``), on
    stderr once the table is printed. JSON and CSV stay as they are: a script pages with
    :func:`~linkback.reports._cursor.next_cursor` of its last row."""
    if not rows or limit is None or len(rows) != limit:
        return
    if _plain(ctx.params.get("output_format", Format.table)) != Format.table.value:
        return
    command = _command_line(ctx, after=next_cursor(report, sort, rows[-1]))
    # Run when the command's context closes: after the table, which is printed on return.
    ctx.call_on_close(lambda: typer.echo(f"next {limit}: {command}", err=True))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _command_line(ctx: typer.Context, **changed: Any) -> str:
    """This command as typed (near enough to give the same rows), with ``changed`` values."""
    words = ["linkback", ctx.info_name or ""]
    for param in ctx.command.params:
        if param.name is None or param.name == "output_format":
            continue
        value = _plain(changed.get(param.name, ctx.params.get(param.name)))
        if param.param_type_name == "argument":
            words.extend(map(str, value) if isinstance(value, (list, tuple)) else [str(value)])  # TARGET... too
        elif value is None or value == () or (value is False and not param.secondary_opts):
            continue
        elif value is True or value is False:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        elif isinstance(value, (list, tuple)):
            for item in value:
                words += [param.opts[0], str(_plain(item))]
        else:
            words += [param.opts[0], str(value)]
    return " ".join(shlex.quote(w) for w in words)


@app.command("overview")
@report_command(limit=False)
def overview_cmd(target: TargetArg, internal: Internal = False, *, store: Store, limit: int | None) -> Report:
    """Summary of the links to TARGET: backlinks, referring pages, hosts and domains, dofollow
    share, link kinds, first/last seen and lost links.

    Example: linkback overview example.com
    """
    row = reports.overview(store, target, internal=internal)
    return Report(
        row,
        f"overview of {_links(internal, False)} to {row['target']} ({row['target_kind']})",
        reports.OVERVIEW_COLUMNS,
    )


@app.command("backlinks")
@report_command
def backlinks_cmd(
    target: TargetArg,
    follow: Follow = None,
    nofollow: Nofollow = None,
    ugc: Ugc = None,
    sponsored: Sponsored = None,
    noindex: Noindex = None,
    kind: KindOpt = None,
    section: SectionOpt = None,
    from_domain: FromOpt = None,
    from_url: FromUrlOpt = None,
    anchor: AnchorOpt = None,
    internal: Internal = False,
    include_lost: IncludeLost = False,
    sort: Annotated[
        BacklinkSort,
        typer.Option("--sort", help="Dates newest first; source_domain A-Z; source_dr, source_ur highest first."),
    ] = BacklinkSort("first_seen"),
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """The links to TARGET, one row each: source and target URL, anchor, rel, kind, section,
    first and last seen. External live links unless --internal / --include-lost.

    Example: linkback backlinks example.com --follow --kind text --sort last_seen --limit 20
    """
    rows = reports.backlinks(
        store,
        target,
        **_filters(locals()),
        from_url=from_url,  # backlinks' own: the other reports count pages, not links on one
        sort=sort.value,
        limit=limit,
        after=after,
    )
    _next_page_hint(ctx, "backlinks", sort.value, rows, limit)
    shown = ["source_url", "source_dr", "target_url", "anchor", "rel", "kind", "section", "first_seen", "last_seen"]
    if any(row["noindex"] for row in rows):
        shown.insert(shown.index("rel") + 1, "noindex")
    if include_lost:
        shown += ["lost_at", "lost_reason"]
    return Report(rows, f"{_links(internal, include_lost)} to {target}{as_of(store)}", reports.BACKLINK_COLUMNS, shown)


@app.command("refdomains")
@report_command
def refdomains_cmd(
    target: TargetArg,
    follow: Follow = None,
    nofollow: Nofollow = None,
    ugc: Ugc = None,
    sponsored: Sponsored = None,
    noindex: Noindex = None,
    kind: KindOpt = None,
    section: SectionOpt = None,
    from_domain: FromOpt = None,
    anchor: AnchorOpt = None,
    internal: Internal = False,
    include_lost: IncludeLost = False,
    sort: Annotated[
        RefdomainSort, typer.Option("--sort", help="Counts, DR and dates descending; domain A-Z.")
    ] = RefdomainSort("links"),
    min_dr: Annotated[
        float | None,
        typer.Option(
            "--min-dr", min=0, max=100, help="Only domains with at least this Domain Rating (needs a rank run)."
        ),
    ] = None,
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """The referring domains of TARGET: Domain Rating, links and dofollow links from each, its
    pages, first and last seen, TLD.

    Example: linkback refdomains example.com --follow --min-dr 30 --sort dr
    """
    rows = reports.refdomains(
        store,
        target,
        **_filters(locals()),
        sort=sort.value,
        min_dr=min_dr,
        limit=limit,
        after=after,
    )
    _next_page_hint(ctx, "refdomains", sort.value, rows, limit)
    return Report(
        rows,
        f"referring domains of {_links(internal, include_lost)} to {target}{as_of(store)}",
        reports.REFDOMAIN_COLUMNS,
    )


@app.command("anchors")
@report_command
def anchors_cmd(
    target: TargetArg,
    follow: Follow = None,
    nofollow: Nofollow = None,
    ugc: Ugc = None,
    sponsored: Sponsored = None,
    noindex: Noindex = None,
    kind: KindOpt = None,
    section: SectionOpt = None,
    from_domain: FromOpt = None,
    anchor: AnchorOpt = None,
    internal: Internal = False,
    include_lost: IncludeLost = False,
    sort: Annotated[AnchorSort, typer.Option("--sort", help="Counts descending; anchor A-Z.")] = AnchorSort("links"),
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """The anchor texts of the links to TARGET: links, referring domains, dofollow links and share.

    Example: linkback anchors example.com --limit 20
    """
    rows = reports.anchors(
        store,
        target,
        **_filters(locals()),
        sort=sort.value,
        limit=limit,
        after=after,
    )
    _next_page_hint(ctx, "anchors", sort.value, rows, limit)
    return Report(rows, f"anchors of {_links(internal, include_lost)} to {target}", reports.ANCHOR_COLUMNS)


@app.command("pages")
@report_command
def pages_cmd(
    domain: Annotated[str, typer.Argument(metavar="DOMAIN", help="A domain, host or URL prefix.", show_default=False)],
    follow: Follow = None,
    nofollow: Nofollow = None,
    ugc: Ugc = None,
    sponsored: Sponsored = None,
    noindex: Noindex = None,
    kind: KindOpt = None,
    section: SectionOpt = None,
    from_domain: FromOpt = None,
    anchor: AnchorOpt = None,
    internal: Internal = False,
    include_lost: IncludeLost = False,
    sort: Annotated[PageSort, typer.Option("--sort", help="Descending.")] = PageSort("referring_domains"),
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """The pages of DOMAIN by links to them ("best by links"): referring domains, backlinks,
    dofollow backlinks, first and last seen.

    Example: linkback pages example.com --sort backlinks
    """
    rows = reports.pages(
        store,
        domain,
        **_filters(locals()),
        sort=sort.value,
        limit=limit,
        after=after,
    )
    _next_page_hint(ctx, "pages", sort.value, rows, limit)
    return Report(rows, f"pages of {domain} by {_links(internal, include_lost)}{as_of(store)}", reports.PAGE_COLUMNS)


@app.command("tlds")
@report_command
def tlds_cmd(
    target: TargetArg,
    follow: Follow = None,
    nofollow: Nofollow = None,
    ugc: Ugc = None,
    sponsored: Sponsored = None,
    noindex: Noindex = None,
    kind: KindOpt = None,
    section: SectionOpt = None,
    from_domain: FromOpt = None,
    anchor: AnchorOpt = None,
    internal: Internal = False,
    include_lost: IncludeLost = False,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """Top-level domains and ccTLD countries of the domains linking to TARGET ("generic" for
    .com, .org and the like).

    Example: linkback tlds example.com --format csv
    """
    rows = reports.tlds(
        store,
        target,
        **_filters(locals()),
        limit=limit,
    )
    return Report(rows, f"TLDs of the domains with {_links(internal, include_lost)} to {target}", reports.TLD_COLUMNS)


@app.command("history")
@report_command
def history_cmd(
    target: TargetArg,
    by: Annotated[Period, typer.Option("--by", help="Period: each is named by its first day (UTC).")] = Period("day"),
    internal: Internal = False,
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """New and lost links to TARGET per day, week or month, lost ones by reason (removed,
    page_gone, redirected; noindex only in stores derived before links on noindex pages were
    kept live), with referring domains gained and lost. --limit keeps the latest periods.

    Example: linkback history example.com --by week
    """
    rows = reports.history(store, target, by=by.value, internal=internal, limit=limit)
    return Report(rows, f"{by.value}s with new or lost {_links(internal, False)} to {target}", reports.HISTORY_COLUMNS)


@app.command("domains")
@report_command
def domains_cmd(
    by: Annotated[DomainGroup, typer.Option("--by", help="One row per registrable domain or per host.")] = DomainGroup(
        "domain"
    ),
    sort: Annotated[
        DomainSort, typer.Option("--sort", help="Descending; rating is DR (HR for hosts, needs a rank run).")
    ] = DomainSort("referring_domains"),
    *,
    store: Store,
    limit: int | None,
) -> Report:
    """The domains (or hosts) the index holds links to, most linked first: referring domains,
    backlinks, dofollow backlinks and internal links, with DR (HR) once a rank has run.

    Example: linkback domains --by host --sort backlinks --limit 20
    """
    rows = reports.domains(store, by=by.value, sort=sort.value, limit=limit)
    columns = reports.DOMAIN_COLUMNS if by.value == "domain" else reports.HOST_COLUMNS
    return Report(rows, f"{by.value}s by links in this index{as_of(store)}", columns)


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


@app.command("export")
def export_cmd(
    what: Annotated[
        ExportTable | None, typer.Argument(help="The table to export (or --parquet DIR).", show_default=False)
    ] = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="jsonl, csv (with a header) or parquet.")
    ] = ExportFormat("jsonl"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="File to write (default stdout; parquet needs a file or a pipe).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            file_okay=False,
            help="Write every index table to this new directory in the layout 'spark extract' writes "
            "(for 'linkback attach', Spark, any Parquet reader).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export a whole table (links or pages), streamed, so any size fits in memory.

    Example: linkback export links --format parquet --output links.parquet
    """
    if parquet is not None:
        from linkback.store._attach import write_parquet  # noqa: PLC0415

        with open_store(db) as store:
            written = write_parquet(store, parquet)
        typer.echo(f"wrote {', '.join(f'{t} {n:,}' for t, n in written.items())} to {parquet}", err=True)
        return
    if what is None:
        fail("name the table to export (links or pages), or --parquet DIR")
    if out is None and fmt.value == "parquet" and _stdout_is_tty():
        fail("parquet is binary: give --output FILE or redirect stdout to a file or pipe")
    with open_store(db) as store:
        if out is None:
            sys.stdout.flush()
            stream = sys.stdout.buffer
            reports.export(store, what.value, fmt.value, stream)
            stream.flush()
            return
        part = out.with_name(out.name + ".part")
        try:
            with part.open("wb") as f:
                rows = reports.export(store, what.value, fmt.value, f)
            part.replace(out)
        except OSError as exc:
            part.unlink(missing_ok=True)
            fail(f"{out}: cannot write ({exc.strerror or exc})")
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    # (Streamed from a server, the count is not known here.)
    count = f"{rows:,} " if rows is not None else ""
    typer.echo(f"exported {count}{what.value} rows to {out}", err=True)
