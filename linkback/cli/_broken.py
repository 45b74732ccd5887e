"""``linkback broken`` (your broken pages that links point at) and ``linkback prospects broken``
(dead pages of other sites that many still link to). Each calls the :mod:`linkback.reports`
function of the same name with the same parameter names."""

from typing import Annotated

import typer

from linkback.cli._app import app
from linkback.cli._output import Report, as_of, report_command
from linkback.cli._reports import After, Internal, TargetArg, _next_page_hint
from linkback.reports._broken import BROKEN_COLUMNS, broken
from linkback.reports._prospects import PROSPECT_COLUMNS, prospects_broken
from linkback.store import Store

MinDr = Annotated[
    float | None,
    typer.Option(
        "--min-dr",
        min=0,
        max=100,
        help="Count only referring domains with at least this Domain Rating (needs a rank run).",
    ),
]


@app.command("broken")
@report_command
def broken_cmd(
    target: TargetArg,
    min_dr: MinDr = None,
    internal: Internal = False,
    after: After = None,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """TARGET's pages that links from other sites point at and that are broken: they answer 4xx
    or 5xx, are a soft 404 (a 'not found' page served with 200, or a deep URL sent to the home
    page) or redirect in a loop. Per page: the referring domains, backlinks and the DR they carry,
    the top anchors, and the closest live page of the site to redirect it to, with a score (0..1).
    Pages are known from the index: crawl your site first ('linkback crawl').

    Example: linkback broken example.com --min-dr 20 --limit 20
    """
    rows = broken(store, target, min_dr=min_dr, internal=internal, limit=limit, after=after)
    _next_page_hint(ctx, "broken", "referring_domains", rows, limit)
    shown = ["target_url", "problem", "referring_domains", "best_dr", "redirect_url", "redirect_score", "top_anchors"]
    if all(row["best_dr"] is None for row in rows):  # before a rank run: room for the rest
        shown.remove("best_dr")
    what = f"broken pages linked {'inside' if internal else 'to'} {target}{as_of(store)}"
    return Report(rows, what, BROKEN_COLUMNS, shown)


prospects_app = typer.Typer(
    help="Link building prospects.\n\nExample: linkback prospects broken --near example.com --topic coffee",
    no_args_is_help=True,
)
app.add_typer(prospects_app, name="prospects")


@prospects_app.command("broken")
@report_command
def prospects_broken_cmd(
    near: Annotated[
        str | None,
        typer.Option(
            "--near",
            metavar="DOMAIN",
            help="Your site: its pages are matched to each dead page, and prospects off its topic left out.",
        ),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option("--topic", metavar="WORDS", help="Only dead pages whose anchors, title or URL have one of WORDS."),
    ] = None,
    min_domains: Annotated[
        int, typer.Option("--min-domains", min=1, help="Only pages that at least this many domains link to.")
    ] = 3,
    *,
    ctx: typer.Context,
    store: Store,
    limit: int | None,
) -> Report:
    """Dead pages on other sites (404, 410, soft 404, a host that no longer resolves) that many
    sites still link to: ask those sites to link to your page instead. Ranked by their referring
    domains, each weighted by its Domain Rating; 401, 403 and other answers that may not last are
    listed after them as 'unclear'. Per page: the linking pages to contact and, with --near, your
    pages that best match its title and anchors.

    Example: linkback prospects broken --near example.com --topic "espresso grinder" --min-domains 5
    """
    rows = prospects_broken(store, near=near, topic=topic, min_domains=min_domains, limit=limit)
    for row in rows:  # what a table has room for: the first of each list (JSON and CSV have them all)
        row["own_url"] = row["own_pages"][0] if row["own_pages"] else None
        row["contact_url"] = row["contact_pages"][0] if row["contact_pages"] else None
    # A narrow terminal hides columns from the right: the least needed last.
    shown = ["target_url", "state", "problem", "referring_domains", "score"]
    shown += ["own_url", "contact_url", "match_score"] if near is not None else ["contact_url"]
    shown += ["top_anchors", "title"]
    if all(row["best_dr"] is None for row in rows):  # before a rank run the score is the domains
        shown.remove("score")
    what = f"broken-link prospects{' near ' + near if near else ''}{as_of(store)}"
    return Report(rows, what, PROSPECT_COLUMNS, shown)
