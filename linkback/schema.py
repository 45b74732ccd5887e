"""The one schema (DESIGN §1.3).

Each table's columns are declared once here as an Arrow schema with a description per column.
The DuckDB tables, the Arrow batches the extractors hand to the store, the Parquet exports and
the CLI's column lists are all derived from these declarations.

Tables:

* ``observations``: one row per fetched page per fetch (append-only history).
* ``link_observations``: the links seen in one observation (append-only history).
* ``links``: the current state of each link (first/last seen, lost), derived from the two above.
* ``pages``: the current state of each page, derived from ``observations``.
* ``archives``: each ingested file, so re-ingesting it adds nothing.
* ``rank_runs``: each ``linkback rank`` run, its time and parameters ("as of").
* ``domain_ranks``: Domain Rating, TrustRank, anti-trust and toxicity of every domain, per run (DR history).
* ``host_ranks`` / ``page_ranks``: host PageRank and harmonic centrality, URL Rating — latest run only.
* ``quality_lists``: the user's allow and deny lists for toxicity and disavow.
* ``site_profiles``: brand and keyword terms per site, for anchor classes and exact-match anchors.
* ``sites``: the sites whose pages accept linkbacks, with their moderation policy and webhook.
* ``mentions``: every received Webmention, Pingback, TrackBack and Refback: verification, moderation, content.
* ``mention_rules``: per-site allow and block lists for mentions (domains or URLs).
* ``webhook_deliveries``: signed webhook calls, queued and retried until delivered.
* ``sends``: every notification linkback sent for your posts (``linkback send``), with the answer.
* ``send_sources``: posts, feeds and sitemaps sent for, with what was seen last (ETag, date, hash).
* ``send_requests``: sends asked of the server (``POST /api/send``), queued for its job runner.
* ``discovery_cache``: the endpoints each target advertised, kept as long as its cache headers allow.
* ``jobs``: long work the server runs (ingest, rank, send, refbacks, import), with its progress and result.
* ``claims``: backlinks a tool says exist (imported exports, lists, links you track), unverified until checked.
* ``claim_imports``: each export file imported, so importing it again adds nothing.
* ``ledger``: the links the monitor keeps true (``linkback monitor``): where each came from, its verdict, when it is checked next.
* ``link_checks``: every check of a ledger link, with its evidence and the verdict it led to (the link's timeline).
* ``alert_rules``: per site, which changes to tell the user of, and how (webhook, email, Atom).
* ``alerts``: each change a rule matched, with a pointer to its evidence and its deliveries.
* ``crawl_frontier``: the URLs a crawl has yet to fetch (and has fetched), so a stopped crawl resumes.
* ``visits``: referral traffic from access logs and analytics exports: landing page, referrer, source, channel.
* ``visit_imports``: each traffic file read, so reading it again adds nothing.
* ``domain_categories``: the topical category of each domain (IAB Content Taxonomy Tier 1 and 2), with its evidence.
* ``brand_mentions``: pages whose text names a site's brand, with a snippet and whether they link to the site.
* ``cc_ranks``: Common Crawl web graph ranks (harmonic centrality, PageRank) of every host or domain of a release.
* ``cc_refdomains``: the hosts or domains that link to the user's domains in a Common Crawl web graph release.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 14


def _schema(*columns: tuple[str, pa.DataType, str]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=True, metadata={"description": doc}) for name, typ, doc in columns])


_TS = pa.timestamp("us", tz="UTC")

OBSERVATIONS = _schema(
    ("obs_id", pa.int64(), "sequence number of this observation"),
    ("obs_key", pa.int64(), "hash of (url, fetched_at): the same capture is stored once"),
    ("archive_id", pa.int32(), "the archive file it came from (archives.archive_id)"),
    ("url", pa.string(), "page URL, normalised"),
    ("final_url", pa.string(), "URL after redirects, when the source followed them"),
    ("host", pa.string(), "page host"),
    ("domain", pa.string(), "registrable domain of the page (Public Suffix List)"),
    ("rhost", pa.string(), "reversed host, com.example.www"),
    ("status", pa.int16(), "HTTP status"),
    ("fetched_at", _TS, "when the page was fetched (UTC)"),
    ("via", pa.string(), "warc, crawl, monitor, webmention, pingback, trackback, refback or import"),
    ("title", pa.string(), "<title>"),
    ("lang", pa.string(), "<html lang> or Content-Language"),
    ("canonical", pa.string(), "rel=canonical URL, resolved"),
    ("noindex", pa.bool_(), "meta robots / X-Robots-Tag noindex"),
    ("nofollow", pa.bool_(), "meta robots / X-Robots-Tag nofollow (applies to every link)"),
    ("charset", pa.string(), "character encoding the body was decoded with"),
    ("content_type", pa.string(), "media type from Content-Type"),
    ("n_internal", pa.int32(), "outlinks to the same registrable domain"),
    ("n_external", pa.int32(), "outlinks to other registrable domains"),
    ("skipped", pa.string(), "why the body was not parsed as HTML, empty when it was"),
    ("record_offset", pa.int64(), "byte offset of the record in its archive"),
    # Added in schema version 13 (COLUMNS_SINCE: ALTER TABLE, so it stays the last column).
    (
        "truncated",
        pa.bool_(),
        "the capture holds only part of the page (body cut at a size limit, WARC-Truncated, or "
        "compressed bytes that would not decompress): its links were there, the links it lacks are not lost",
    ),
)

LINK_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("target_url", pa.string(), "link target, resolved as a browser resolves it, fragment dropped"),
    ("target_host", pa.string(), "target host"),
    ("target_domain", pa.string(), "registrable domain of the target"),
    ("target_rhost", pa.string(), "reversed target host; links are clustered on it"),
    ("anchor", pa.string(), "anchor text, whitespace-normalised and capped; alt text for image links"),
    ("alt", pa.string(), "alt text of an image inside the link"),
    ("rel", pa.string(), "the link's rel tokens, space-separated"),
    ("nofollow", pa.bool_(), "rel nofollow, or the page is nofollow"),
    ("ugc", pa.bool_(), "rel ugc"),
    ("sponsored", pa.bool_(), "rel sponsored"),
    ("kind", pa.string(), "text, image, redirect, canonical, alternate, feed, frame or form"),
    ("section", pa.string(), "content, nav, header, footer, aside or comment"),
    ("context", pa.string(), "about 100 characters of text around the link"),
    ("internal", pa.bool_(), "target has the same registrable domain as the source"),
)

LINK_OBSERVATIONS = _schema(("obs_id", pa.int64(), "the observation the link was seen in"), *LINK_COLUMNS)

LINKS = _schema(
    ("source_url", pa.string(), "page the link is on"),
    ("source_host", pa.string(), "source host"),
    ("source_domain", pa.string(), "registrable domain of the source"),
    *LINK_COLUMNS,
    ("first_seen", _TS, "first observation of the source page that had the link"),
    ("last_seen", _TS, "last observation of the source page that had the link"),
    ("lost_at", _TS, "first later observation without the link, empty while it is live"),
    ("lost_reason", pa.string(), "removed, page_gone or redirected (noindex in stores written before schema 5)"),
    ("via", pa.string(), "how the source page reached linkback (newest observation)"),
    # Added in schema version 5 (COLUMNS_SINCE: ALTER TABLE, so it stays the last column).
    ("noindex", pa.bool_(), "the source page is noindex (meta robots / X-Robots-Tag): shown, passes no authority"),
)

PAGES = _schema(
    ("url", pa.string(), "page URL"),
    ("host", pa.string(), "page host"),
    ("domain", pa.string(), "registrable domain"),
    ("rhost", pa.string(), "reversed host"),
    ("status", pa.int16(), "HTTP status of the newest observation"),
    ("title", pa.string(), "title of the newest observation"),
    ("lang", pa.string(), "language of the newest observation"),
    ("canonical", pa.string(), "canonical URL of the newest observation"),
    ("noindex", pa.bool_(), "noindex in the newest observation"),
    ("n_internal", pa.int32(), "internal outlinks in the newest observation"),
    ("n_external", pa.int32(), "external outlinks in the newest observation"),
    ("first_seen", _TS, "first observation"),
    ("last_seen", _TS, "newest observation"),
    ("observations", pa.int32(), "number of observations"),
    # Added in schema version 13.
    ("truncated", pa.bool_(), "the newest observation holds only part of the page: its link counts are of that part"),
)

ARCHIVES = _schema(
    ("archive_id", pa.int32(), "archive number"),
    ("path", pa.string(), "path it was ingested from"),
    ("size", pa.int64(), "bytes"),
    ("fingerprint", pa.string(), "sha256 of the file's bytes"),
    ("started_at", _TS, "when ingest of the file started"),
    ("completed_at", _TS, "when it completed; empty when it was interrupted"),
    ("records", pa.int64(), "WARC/ARC records read"),
    ("pages", pa.int64(), "HTML pages parsed"),
    ("links", pa.int64(), "links extracted"),
    ("skipped", pa.string(), "JSON object: skipped records by reason"),
)

RANK_RUNS = _schema(
    ("run_id", pa.int32(), "run number"),
    ("started_at", _TS, "when the run started"),
    ("completed_at", _TS, "when its results were stored"),
    ("params", pa.string(), "JSON object: damping, tolerance, link kinds, seed files and counts"),
    ("pages", pa.int64(), "nodes of the page graph"),
    ("page_edges", pa.int64(), "distinct authority-passing page links"),
    ("hosts", pa.int64(), "nodes of the host graph"),
    ("host_edges", pa.int64(), "distinct authority-passing links between hosts"),
    ("domains", pa.int64(), "nodes of the domain graph"),
    ("domain_edges", pa.int64(), "distinct dofollow links between domains"),
    ("seconds", pa.float64(), "wall time of the run"),
)

DOMAIN_RANKS = _schema(
    ("run_id", pa.int32(), "the rank run (rank_runs.run_id)"),
    ("domain", pa.string(), "registrable domain"),
    ("dr", pa.float64(), "Domain Rating 0-100: 100 * log10(raw_rank) / 6, capped"),
    ("raw_rank", pa.float64(), "PageRank on the domain graph divided by that of a domain nobody links to (>= 1)"),
    ("trust", pa.float64(), "TrustRank 0-100 from the trusted seeds (0: unreachable from them)"),
    ("anti_trust", pa.float64(), "anti-trust 0-100, propagated backwards from the spam seeds"),
    ("refdomains", pa.int64(), "domains with a live link to it"),
    ("dofollow_refdomains", pa.int64(), "domains with a live dofollow link to it"),
    ("backlinks", pa.int64(), "live links from other domains"),
    ("linked_domains", pa.int64(), "domains it has a live dofollow link to"),
    ("toxicity", pa.int16(), "0-100, from the signals below"),
    ("signals", pa.string(), "toxicity signals that fired, space-separated"),
)

HOST_RANKS = _schema(
    ("host", pa.string(), "host"),
    ("domain", pa.string(), "registrable domain"),
    ("hr", pa.float64(), "host rating 0-100, on the Domain Rating scale"),
    ("raw_rank", pa.float64(), "PageRank on the host graph divided by that of a host nobody links to"),
    ("harmonic", pa.float64(), "harmonic centrality: sum of 1/distance from every host that reaches it"),
)

PAGE_RANKS = _schema(
    ("url_hash", pa.uint64(), "DuckDB hash(url) of the page"),
    ("ur", pa.float64(), "URL Rating 0-100, on the Domain Rating scale"),
    ("raw_rank", pa.float64(), "PageRank on the page graph divided by that of a page nobody links to"),
)

QUALITY_LISTS = _schema(
    ("list", pa.string(), "allow or deny"),
    ("entry", pa.string(), "a domain, a host or a URL"),
    ("note", pa.string(), "why it is on the list"),
    ("added_at", _TS, "when it was added"),
)

SITE_PROFILES = _schema(
    ("site", pa.string(), "the domain or host the terms are for"),
    ("brands", pa.string(), "brand terms, one per line"),
    ("keywords", pa.string(), "money keywords, one per line"),
)

SITES = _schema(
    ("site", pa.string(), "a host or registrable domain (an IP address too); any port of it matches"),
    (
        "policy",
        pa.string(),
        "auto (approve verified mentions), moderate (always hold) or allowlist (approve only allowed sources)",
    ),
    ("webhook_url", pa.string(), "where new, approved and deleted mentions are POSTed, empty for none"),
    ("webhook_secret", pa.string(), "HMAC-SHA256 key for the webhook's X-Linkback-Signature"),
    ("added_at", _TS, "when the site was added"),
)

MENTIONS = _schema(
    ("mention_id", pa.int64(), "mention number"),
    ("protocol", pa.string(), "webmention, pingback, trackback or refback"),
    ("source", pa.string(), "the linking page, as sent"),
    ("target", pa.string(), "the linked page on one of the sites, normalised, fragment dropped"),
    ("site", pa.string(), "the sites entry the target belongs to"),
    ("status", pa.string(), "queued, verified, rejected or deleted (verification of the source)"),
    ("reason", pa.string(), "why it was rejected or deleted (no_link_found, source_not_found, source_is_target, gone, blocked, ...)"),
    ("state", pa.string(), "pending, approved, spam or deleted (moderation)"),
    ("received_at", _TS, "first receipt"),
    ("updated_at", _TS, "last receipt or change"),
    ("verified_at", _TS, "last successful verification"),
    ("attempts", pa.int32(), "verification attempts so far"),
    ("next_attempt_at", _TS, "when the job runner tries (again); empty when nothing is due"),
    ("sender_ip", pa.string(), "address the notification came from"),
    ("hits", pa.int32(), "receipts of the same source and target (refback visits)"),
    ("type", pa.string(), "reply, like, repost, bookmark, rsvp or mention"),
    ("wm_property", pa.string(), "jf2 wm-property: in-reply-to, like-of, repost-of, bookmark-of, rsvp or mention-of"),
    ("rsvp", pa.string(), "yes, no, maybe or interested for an RSVP"),
    ("author_name", pa.string(), "author name (h-card, or the blog name of a trackback)"),
    ("author_url", pa.string(), "author URL, http(s) only"),
    ("author_photo", pa.string(), "author photo URL, http(s) only"),
    ("url", pa.string(), "the h-entry's URL, else the source"),
    ("published", _TS, "when the source says it was published"),
    ("name", pa.string(), "title of the source entry or page"),
    ("content_html", pa.string(), "entry content, sanitised HTML"),
    ("content_text", pa.string(), "entry content as text"),
    ("summary", pa.string(), "summary, or an excerpt around the link"),
    ("spam_score", pa.int16(), "0-100; the reasons are in spam_reasons"),
    ("spam_reasons", pa.string(), "the spam signals that fired, space-separated"),
    # Added in schema version 4 (COLUMNS_SINCE: ALTER TABLE, so it stays the last column).
    ("last_hit_at", _TS, "newest logged visit counted in hits (refbacks): older log lines are not counted again"),
    # Added in schema version 5.
    (
        "status_token",
        pa.string(),
        "unguessable key of the sender's status page (/webmention/status/TOKEN); empty when nobody sent it",
    ),
)

MENTION_RULES = _schema(
    ("site", pa.string(), "the sites entry, or * for every site"),
    ("rule", pa.string(), "allow (auto-approve), block (reject) or word (a spam word)"),
    ("entry", pa.string(), "a domain (matches its subdomains), a URL (exact), or the spam word"),
    ("note", pa.string(), "why"),
    ("added_at", _TS, "when it was added"),
)

WEBHOOK_DELIVERIES = _schema(
    ("delivery_id", pa.int64(), "delivery number"),
    ("site", pa.string(), "the site whose webhook is called"),
    ("event", pa.string(), "new, approved or deleted"),
    ("mention_id", pa.int64(), "the mention"),
    ("payload", pa.string(), "the JSON body, signed as sent"),
    ("created_at", _TS, "when the event happened"),
    ("attempts", pa.int32(), "attempts so far"),
    ("next_attempt_at", _TS, "when the next attempt is due; empty once delivered or given up"),
    ("delivered_at", _TS, "when a 2xx answer came"),
    ("last_error", pa.string(), "the last failure"),
)

SENDS = _schema(
    ("send_id", pa.int64(), "send number"),
    ("source", pa.string(), "your post"),
    ("target", pa.string(), "the page it links to (or linked to)"),
    ("protocol", pa.string(), "webmention, pingback, trackback, or empty when no endpoint was found"),
    ("endpoint", pa.string(), "the endpoint notified"),
    ("status", pa.string(), "sent, failed, no_endpoint, refused (private endpoint) or dry_run"),
    ("reason", pa.string(), "why it failed, or the Pingback fault, in short"),
    ("http_status", pa.int16(), "HTTP status of the endpoint's answer"),
    ("answer", pa.string(), "the start of the endpoint's answer"),
    ("location", pa.string(), "Location of a 201 (the receiver's status page)"),
    ("linked", pa.bool_(), "the post links to the target now (false: a removed link, or the post is gone)"),
    ("attempts", pa.int32(), "tries, retries of 5xx and timeouts included"),
    ("sent_at", _TS, "when"),
)

SEND_SOURCES = _schema(
    ("url", pa.string(), "a post, feed or sitemap URL"),
    ("kind", pa.string(), "post, feed or sitemap"),
    ("etag", pa.string(), "ETag of the last fetch (of the feed or sitemap; of the post page for a post)"),
    ("last_modified", pa.string(), "Last-Modified of the last fetch (feed or sitemap; the post page for a post)"),
    ("updated", _TS, "the entry's date in its feed or sitemap at the last send"),
    ("content_hash", pa.string(), "sha256 of what was seen at the last send (the feed; a post's entry content)"),
    ("checked_at", _TS, "last fetch"),
    ("sent_at", _TS, "last time notifications went out for it"),
    ("page_hash", pa.string(), "a post: sha256 of its page as fetched at the last send"),
)

SEND_REQUESTS = _schema(
    ("request_id", pa.int64(), "request number (GET /api/send/ID)"),
    ("kind", pa.string(), "post, feed or sitemap"),
    ("url", pa.string(), "what to send for"),
    ("all_links", pa.bool_(), "every link of the post, not only those in its content"),
    ("status", pa.string(), "queued, running, done or failed"),
    ("created_at", _TS, "when it was asked"),
    ("done_at", _TS, "when it finished"),
    ("result", pa.string(), "JSON summary: sent, failed, no endpoint..."),
    ("blog_name", pa.string(), "your blog's name, sent with TrackBacks"),
)

DISCOVERY_CACHE = _schema(
    ("target", pa.string(), "the linked page whose endpoints these are (one row per target)"),
    ("final_url", pa.string(), "the URL its discovery fetch ended on, after redirects"),
    ("webmention", pa.string(), "Webmention endpoint, resolved against the final URL; empty for none"),
    ("pingback", pa.string(), "Pingback endpoint (X-Pingback or <link rel=pingback>); empty for none"),
    ("trackback", pa.string(), "TrackBack ping URL from the page's RDF; empty for none"),
    ("etag", pa.string(), "ETag of the target's answer, sent as If-None-Match to revalidate"),
    ("last_modified", pa.string(), "Last-Modified of the target's answer, sent as If-Modified-Since"),
    ("fetched_at", _TS, "when the target was last fetched or revalidated (a 304)"),
    ("expires_at", _TS, "reused without asking until then (Cache-Control max-age or Expires); empty: revalidate"),
)

JOBS = _schema(
    ("job_id", pa.int64(), "job number (GET /api/v1/jobs/ID)"),
    ("kind", pa.string(), "ingest, rank, send, refbacks, import, crawl or monitor"),
    ("params", pa.string(), "JSON object: the job's parameters, as the Python function takes them"),
    (
        "state",
        pa.string(),
        "queued, running, done, failed, cancelled, or interrupted (the server stopped while it ran)",
    ),
    ("progress", pa.string(), "JSON object: the latest progress saved (done, total, unit, stage)"),
    ("result", pa.string(), "JSON object: what the job's function returned"),
    ("error", pa.string(), "why it failed, empty when it did not"),
    ("created_at", _TS, "when it was asked"),
    ("started_at", _TS, "when the runner started it"),
    ("finished_at", _TS, "when it ended"),
)

CLAIMS = _schema(
    ("claim_id", pa.int64(), "claim number"),
    ("claim_key", pa.int64(), "hash of (via, level, source, target, a vendor's anchor): each claim is stored once"),
    ("via", pa.string(), "the tool that claims it: ahrefs, semrush, gsc, bing, majestic, moz, list or tracked"),
    (
        "level",
        pa.string(),
        "link (a page links), domain (a referring domain links), page (a page of the site, with the tool's counts)"
        " or anchor (an anchor text, with the tool's counts)",
    ),
    ("source_url", pa.string(), "the linking page, normalised as links.source_url; empty for domain-level claims"),
    ("source_host", pa.string(), "the linking host, or the referring domain of a domain-level claim"),
    ("source_domain", pa.string(), "registrable domain of the source"),
    ("target_url", pa.string(), "the linked page, normalised as links.target_url; empty when only the site is named"),
    ("target_host", pa.string(), "the linked page's host, or the site the import was for"),
    ("target_domain", pa.string(), "registrable domain of the target"),
    ("target_rhost", pa.string(), "reversed target host, com.example.www"),
    ("anchor", pa.string(), "anchor text as the tool saw it (the expected anchor of a link you track)"),
    ("nofollow", pa.bool_(), "rel nofollow as the tool saw it (expected follow, inverted, for a link you track)"),
    ("ugc", pa.bool_(), "rel ugc as the tool saw it"),
    ("sponsored", pa.bool_(), "rel sponsored as the tool saw it"),
    ("kind", pa.string(), "text, image, redirect, frame or form, when the tool says"),
    ("first_seen", _TS, "when the tool first saw the link"),
    ("last_seen", _TS, "when the tool last saw it (Search Console: last crawled)"),
    ("lost_at", _TS, "when the tool says the link was lost"),
    (
        "metrics",
        pa.string(),
        "JSON object: the tool's own numbers and labels (DR, UR, ascore, TF/CF, DA/PA, spam score, lost status...)",
    ),
    ("notes", pa.string(), "your notes on a link you track"),
    ("tags", pa.string(), "your tags on a link you track"),
    ("import_id", pa.int64(), "the import whose row of it is the newest by its dates (claim_imports.import_id)"),
    ("imported_at", _TS, "when it was first imported"),
    ("updated_at", _TS, "when an import last changed it"),
    ("checked_at", _TS, "when linkback last checked it on the live web; empty while it is unverified"),
    ("verdict", pa.string(), "what that check found: live, changed, lost or unknown; empty until checked"),
)

CLAIM_IMPORTS = _schema(
    ("import_id", pa.int64(), "import number"),
    ("name", pa.string(), "the file's name as the caller gave it"),
    ("fingerprint", pa.string(), "sha256 of the file's bytes"),
    ("format", pa.string(), "the export format read: ahrefs-backlinks, gsc-latest-links, tracked..."),
    ("via", pa.string(), "the tool its claims are from"),
    ("site", pa.string(), "the site given for it (--site), empty for none"),
    ("encoding", pa.string(), "the character encoding it was read in"),
    ("rows", pa.int64(), "data rows read"),
    ("claims", pa.int64(), "distinct claims in it"),
    ("added", pa.int64(), "claims it added (at its latest import)"),
    ("changed", pa.int64(), "claims it changed (at its latest import)"),
    ("unchanged", pa.int64(), "claims it listed as they were stored (at its latest import)"),
    ("duplicates", pa.int64(), "rows that repeated a claim of an earlier row"),
    ("rejected", pa.int64(), "rows refused: bad URL, missing value, unparseable number or date, not valid CSV"),
    ("rejects", pa.string(), "JSON list: the first refused rows, {line, reason}"),
    ("first_imported_at", _TS, "when it was first imported"),
    ("imported_at", _TS, "when it was last imported"),
)

LEDGER = _schema(
    ("link_id", pa.int64(), "ledger number"),
    ("link_key", pa.int64(), "hash of (source_url, target_url): each link is kept once"),
    ("source_url", pa.string(), "the linking page, normalised as links.source_url"),
    ("source_host", pa.string(), "the linking host"),
    ("source_domain", pa.string(), "registrable domain of the linking page"),
    ("target_url", pa.string(), "the linked page of the user's site, normalised as links.target_url"),
    ("target_host", pa.string(), "the linked host"),
    ("target_domain", pa.string(), "registrable domain of the target"),
    ("target_rhost", pa.string(), "reversed target host, com.example.www"),
    ("origin", pa.string(), "where the ledger learnt of it: claim (an import), index, mention or added (monitor add)"),
    ("expected_anchor", pa.string(), "the anchor the user expects (a link they track), empty for any"),
    ("expected_follow", pa.bool_(), "the user expects a followed link (a link they track); empty for either"),
    ("notes", pa.string(), "the user's notes"),
    ("tags", pa.string(), "the user's tags, space-separated"),
    ("added_at", _TS, "when it entered the ledger"),
    ("verdict", pa.string(), "live, changed, lost or unknown; empty until the first check"),
    (
        "reason",
        pa.string(),
        "why it is lost or unknown (removed, page_gone, redirected, noindex, canonicalized, "
        "nofollowed; crawl_error, robots, blocked, unconfirmed, truncated); what changed for changed (anchor rel section)",
    ),
    ("anchor", pa.string(), "anchor text at the newest check that found the link"),
    ("rel", pa.string(), "rel tokens at the newest check that found the link"),
    ("nofollow", pa.bool_(), "rel nofollow, or the page nofollow, at the newest check that found the link"),
    ("section", pa.string(), "page section at the newest check that found the link"),
    ("found_in", pa.string(), "raw, rendered or both: where the newest check found the link; empty when it did not"),
    ("first_checked_at", _TS, "the first check"),
    ("checked_at", _TS, "the newest check"),
    ("changed_at", _TS, "when the verdict or reason last changed"),
    ("live_since", _TS, "first check of the current live run; empty while it is not live"),
    ("failures", pa.int32(), "checks in a row that could not tell (timeout, 5xx, 429): a loss needs 3"),
    ("pending", pa.string(), "a loss seen once and waiting for its confirming fetch (its reason), else empty"),
    (
        "interval_days",
        pa.float64(),
        "days between checks now (1 to 30: shorter while it changes, longer while it holds)",
    ),
    ("next_check_at", _TS, "when the monitor checks it next"),
    ("paused", pa.bool_(), "the user paused its checks"),
)

LINK_CHECKS = _schema(
    ("check_id", pa.int64(), "check number"),
    ("link_id", pa.int64(), "the ledger link checked"),
    ("checked_at", _TS, "when the page was fetched"),
    ("status", pa.int16(), "HTTP status of the final answer; empty when none came"),
    ("redirects", pa.string(), "JSON list of the redirect hops: {url, status}"),
    ("final_url", pa.string(), "the URL the redirects ended at"),
    ("ip", pa.string(), "the address the page was fetched from"),
    ("canonical", pa.string(), "rel=canonical of the page, resolved"),
    ("noindex", pa.bool_(), "meta robots / X-Robots-Tag noindex"),
    ("found", pa.bool_(), "the link to the target is on the page"),
    ("found_in", pa.string(), "raw, rendered or both; empty when it was found in neither"),
    ("rendered", pa.bool_(), "the page was also rendered in headless Chromium for this check"),
    ("anchor", pa.string(), "the link's anchor text"),
    ("rel", pa.string(), "the link's rel tokens"),
    ("nofollow", pa.bool_(), "rel nofollow, or the page is nofollow"),
    ("section", pa.string(), "the page section the link is in"),
    (
        "error",
        pa.string(),
        "why no page came (timeout, connect, dns, no_such_domain, tls, blocked, robots...), empty when one did",
    ),
    ("detail", pa.string(), "the error in words (what the SSRF guard refused and why), empty when none"),
    (
        "render_note",
        pa.string(),
        "why the page was not rendered when it was wanted (no chromium...), or what rendering refused",
    ),
    ("warc_path", pa.string(), "the WARC file that holds the response"),
    ("warc_offset", pa.int64(), "byte offset of the response record in it"),
    ("verdict", pa.string(), "the verdict after this check: live, changed, lost or unknown"),
    ("reason", pa.string(), "its reason"),
    ("changes", pa.string(), "JSON object: what changed since the previous check, {field: [before, after]}"),
)

ALERT_RULES = _schema(
    ("rule_id", pa.int64(), "rule number"),
    ("site", pa.string(), "the site (a host or registrable domain) whose links it watches"),
    ("event", pa.string(), "new_link, lost_link, changed, broken_target or toxic_domain"),
    ("min_dr", pa.float64(), "only links from referring domains with at least this Domain Rating; empty for any"),
    ("follow_only", pa.bool_(), "only followed (dofollow) links"),
    ("channel", pa.string(), "webhook, email or atom"),
    ("address", pa.string(), "the webhook URL or email address; empty for atom"),
    ("secret", pa.string(), "HMAC-SHA256 key for a webhook's X-Linkback-Signature; for atom, the feed URL's token"),
    ("schedule", pa.string(), "immediate, daily or weekly (an email digest)"),
    ("enabled", pa.bool_(), "the rule is on"),
    ("created_at", _TS, "when it was added"),
    ("looked_at", _TS, "when the rule last looked at what had changed (a look with nothing new is not counted)"),
    ("seen_obs_id", pa.int64(), "observations up to this number were looked at (new and lost links, broken pages)"),
    ("seen_check_id", pa.int64(), "link checks up to this number were looked at (the ledger's losses and changes)"),
    ("seen_run_id", pa.int32(), "the rank run looked at last (new toxic referring domains)"),
)

ALERTS = _schema(
    ("alert_id", pa.int64(), "alert number"),
    ("alert_key", pa.int64(), "hash of (rule, event, link, when): the same change alerts once"),
    ("rule_id", pa.int64(), "the rule that matched"),
    ("site", pa.string(), "the site"),
    ("event", pa.string(), "new_link, lost_link, changed, broken_target or toxic_domain"),
    ("source_url", pa.string(), "the linking page (or the toxic domain)"),
    ("target_url", pa.string(), "the linked page"),
    ("title", pa.string(), "one line a person reads"),
    ("detail", pa.string(), "JSON object: the facts behind it (DR, anchor before/after, reason...)"),
    ("evidence", pa.string(), "where the evidence is: a path of the dashboard or API (the link's timeline, a check)"),
    ("created_at", _TS, "when the change was found"),
    ("delivered_at", _TS, "when it was delivered (webhook 2xx, email sent, or read from the feed)"),
    ("attempts", pa.int32(), "delivery attempts so far"),
    ("next_attempt_at", _TS, "when the next delivery attempt is due; empty once delivered, given up, or digested"),
    ("last_error", pa.string(), "the last delivery failure"),
)

CRAWL_FRONTIER = _schema(
    # A log, appended to: a URL's state is its newest row (done_at, else added_at). Appending is
    # what DuckDB does fast; updating a row in place costs milliseconds each (linkback.crawl._frontier).
    ("crawl_id", pa.string(), "the crawl (its WARC directory's name)"),
    ("url", pa.string(), "a URL the crawl found"),
    ("depth", pa.int32(), "links from the nearest seed (rows that queue it; -1 for a redirect's target or robots.txt)"),
    ("state", pa.string(), "queued, done or failed; empty on a row that only records a response"),
    ("added_at", _TS, "when it was found (rows that queue it)"),
    ("done_at", _TS, "when it was fetched or given up (rows that end it)"),
    ("run", pa.int32(), "which crawl of the directory wrote the row (1, 2...)"),
    ("payload_digest", pa.string(), "WARC-Payload-Digest of a full response record of it: same payload, a revisit"),
    ("record_id", pa.string(), "that record's WARC-Record-ID"),
    ("record_date", _TS, "that record's WARC-Date"),
    ("record_file", pa.string(), "the WARC file holding it (its name, in the crawl's directory)"),
    ("record_offset", pa.int64(), "its byte offset in that file"),
    # Last: schema version 12 added it to existing tables, where ALTER TABLE puts it at the end.
    ("reason", pa.string(), "why it ended without a page: robots_denied, too-big... (linkback.crawl._reasons)"),
)

# --- referral traffic (schema version 8; linkback.traffic) ---
VISITS = _schema(
    ("visit_key", pa.int64(), "hash of the log line (or export row): the same visit read again is stored once"),
    ("import_id", pa.int64(), "the file it was read from (visit_imports.import_id)"),
    ("visited_at", _TS, "when (UTC); an export's row: its day"),
    ("target_url", pa.string(), "the landing page, normalised; empty for an export's row"),
    ("target_host", pa.string(), "its host"),
    ("target_domain", pa.string(), "its registrable domain"),
    ("target_rhost", pa.string(), "its reversed host, com.example.www"),
    ("source_url", pa.string(), "the referrer, normalised (as sent: often only the origin); empty when direct"),
    ("source_host", pa.string(), "the referrer's host (an Android app's package name for android-app://)"),
    ("source_domain", pa.string(), "the referrer's registrable domain"),
    ("source", pa.string(), "where the visit came from: utm_source, a listed name (Google) or the referrer's host"),
    ("medium", pa.string(), "utm_medium, or organic, referral, email, (none)"),
    ("campaign", pa.string(), "utm_campaign"),
    ("channel", pa.string(), "the channel, by GA4's default channel group rules (Organic Search, Referral...)"),
    ("visits", pa.int32(), "visits this row counts: 1 for a log line, an export row's count"),
)

VISIT_IMPORTS = _schema(
    ("import_id", pa.int64(), "import number"),
    ("fingerprint", pa.string(), "SHA-256 of the file's first 64 KiB (with its size: a file read before is skipped)"),
    ("size", pa.int64(), "the file's size in bytes when read"),
    ("name", pa.string(), "the file as named when read"),
    ("format", pa.string(), "combined, caddy, cloudfront, w3c, plausible or ga4"),
    ("site", pa.string(), "the --host it was read for; empty when its lines name their host"),
    ("lines", pa.int64(), "lines (or export rows) read"),
    ("parsed", pa.int64(), "lines that were requests"),
    ("visits", pa.int64(), "visits it holds (after bots, sub-resources, navigation and spam are dropped)"),
    ("added", pa.int64(), "visits new at its latest read"),
    ("skipped", pa.int64(), "lines that were not requests (malformed...) or rows refused"),
    ("dropped", pa.string(), "JSON object: requests that are no visit, by reason (bot, not_a_page, spam...)"),
    ("errors", pa.string(), "JSON list: the first lines refused, {line, reason}"),
    ("first_visit", _TS, "its earliest visit"),
    ("last_visit", _TS, "its latest visit"),
    ("first_read_at", _TS, "when it was first read"),
    ("read_at", _TS, "when it was last read"),
)

# --- categories of referring domains (schema version 9; linkback.categories) ---
DOMAIN_CATEGORIES = _schema(
    ("domain", pa.string(), "registrable domain"),
    ("tier1", pa.string(), "IAB Content Taxonomy 3.1 Tier-1 category; empty when its pages said too little"),
    ("tier1_id", pa.string(), "the Tier-1 node's IAB Unique ID"),
    ("tier2", pa.string(), "Tier-2 category under tier1; empty when no Tier-2 word was found"),
    ("tier2_id", pa.string(), "the Tier-2 node's IAB Unique ID"),
    ("confidence", pa.float64(), "0-1: the category's share of the evidence, times how much evidence there was"),
    ("score", pa.float64(), "the weighted evidence for tier1"),
    ("evidence", pa.string(), "the words that decided it, weightiest first: 'kuchen ×3, rezept ×2, backen'"),
    ("alternatives", pa.string(), "JSON list: the three best Tier-1 categories with their shares"),
    ("pages", pa.int32(), "pages of the domain read (titles and URLs)"),
    ("links", pa.int32(), "links read: its pages' content links and menus, and other sites' links to it"),
    ("seen_until", _TS, "newest page of the domain read: a newer page makes the next categorize run read it again"),
    ("version", pa.string(), "taxonomy and word lists it was made with; another version is made again"),
    ("categorized_at", _TS, "when"),
)

# --- unlinked brand mentions (schema version 10; linkback.brands) ---
BRAND_MENTIONS = _schema(
    ("url", pa.string(), "the page that names the brand"),
    ("host", pa.string(), "page host"),
    ("domain", pa.string(), "registrable domain of the page"),
    ("term", pa.string(), "the brand term found, as the site profile has it"),
    ("site", pa.string(), "the site profile the term belongs to"),
    ("snippet", pa.string(), "about 80 characters of the page's text either side of the term (newest capture)"),
    ("linked", pa.bool_(), "the page (newest capture with the term) links to the site's registrable domain"),
    ("first_seen", _TS, "first capture of the page found with the term"),
    ("last_seen", _TS, "newest capture of the page found with the term"),
    ("obs_id", pa.int64(), "that newest capture (observations.obs_id)"),
)

# --- Common Crawl web graph (schema version 11; linkback.cc) ---
CC_RANKS = _schema(
    ("release", pa.string(), "the web graph release, as its files are named: cc-main-2024-feb-apr-may"),
    ("level", pa.string(), "host or domain: which of the release's two graphs"),
    ("name", pa.string(), "the host or registrable domain (host-level names have www. stripped, as CC does)"),
    ("rname", pa.string(), "the name as the release has it: reversed, com.example"),
    ("hc_pos", pa.int64(), "position by harmonic centrality (1: the most central)"),
    ("hc_val", pa.float64(), "harmonic centrality"),
    ("pr_pos", pa.int64(), "position by PageRank (1: the highest)"),
    ("pr_val", pa.float64(), "PageRank"),
    ("n_hosts", pa.int64(), "hosts of the domain in the graph (domain level; empty at host level)"),
    ("imported_at", _TS, "when the release was imported"),
)

CC_REFDOMAINS = _schema(
    ("release", pa.string(), "the web graph release the edge is from"),
    ("level", pa.string(), "host or domain"),
    ("target", pa.string(), "the user's registrable domain the edge points into"),
    ("target_name", pa.string(), "the vertex linked to: the domain, or one of its hosts at host level"),
    ("source", pa.string(), "the linking host or domain"),
    ("source_domain", pa.string(), "registrable domain of the source (Public Suffix List)"),
    ("imported_at", _TS, "when the release was imported"),
)

TABLES: dict[str, pa.Schema] = {
    "observations": OBSERVATIONS,
    "link_observations": LINK_OBSERVATIONS,
    "links": LINKS,
    "pages": PAGES,
    "archives": ARCHIVES,
    "rank_runs": RANK_RUNS,
    "domain_ranks": DOMAIN_RANKS,
    "host_ranks": HOST_RANKS,
    "page_ranks": PAGE_RANKS,
    "quality_lists": QUALITY_LISTS,
    "site_profiles": SITE_PROFILES,
    "sites": SITES,
    "mentions": MENTIONS,
    "mention_rules": MENTION_RULES,
    "webhook_deliveries": WEBHOOK_DELIVERIES,
    "sends": SENDS,
    "send_sources": SEND_SOURCES,
    "send_requests": SEND_REQUESTS,
    "discovery_cache": DISCOVERY_CACHE,
    "jobs": JOBS,
    "claims": CLAIMS,
    "claim_imports": CLAIM_IMPORTS,
    "ledger": LEDGER,
    "link_checks": LINK_CHECKS,
    "alert_rules": ALERT_RULES,
    "alerts": ALERTS,
    "crawl_frontier": CRAWL_FRONTIER,
    "visits": VISITS,
    "visit_imports": VISIT_IMPORTS,
    "domain_categories": DOMAIN_CATEGORIES,
    "brand_mentions": BRAND_MENTIONS,
    "cc_ranks": CC_RANKS,
    "cc_refdomains": CC_REFDOMAINS,
}

#: Tables added by each schema version after the first.
TABLES_SINCE: dict[int, tuple[str, ...]] = {
    2: ("rank_runs", "domain_ranks", "host_ranks", "page_ranks", "quality_lists", "site_profiles"),
    3: ("sites", "mentions", "mention_rules", "webhook_deliveries", "sends", "send_sources", "send_requests"),
    4: ("discovery_cache",),
    5: ("jobs",),
    6: ("claims", "claim_imports"),
    7: ("ledger", "link_checks", "alert_rules", "alerts", "crawl_frontier"),
    8: ("visits", "visit_imports"),
    9: ("domain_categories",),
    10: ("brand_mentions",),
    11: ("cc_ranks", "cc_refdomains"),
}

#: Columns added to existing tables by each schema version: (table, column).
COLUMNS_SINCE: dict[int, tuple[tuple[str, str], ...]] = {
    4: (("send_sources", "page_hash"), ("send_requests", "blog_name"), ("mentions", "last_hit_at")),
    5: (("links", "noindex"), ("mentions", "status_token")),
    12: (("crawl_frontier", "reason"),),
    13: (("observations", "truncated"), ("pages", "truncated")),
}

#: What the rows stored before a column was added hold in it (SQL), where that is not NULL: the
#: migration that adds it fills it in, and a Parquet index written before it reads so too.
COLUMN_FILLS: dict[tuple[str, str], str] = {
    # Nothing before schema 13 said a capture was partial: every capture stored counted as whole.
    ("observations", "truncated"): "false",
    ("pages", "truncated"): "false",
}

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    _TS: "TIMESTAMPTZ",
}


def duckdb_type(typ: pa.DataType) -> str:
    return _DUCKDB_TYPES[typ]


#: Columns DuckDB stores with zstd instead of its default for text (a dictionary with FSST):
#: the link text that is nearly unique per row, in both tables that hold it. On the 1,169 real
#: pages, zstd writes those columns in ~0.57x the CPU (the commit compresses every string it
#: stores) and ~0.77x the bytes; the default stays where values repeat (hosts, domains, rel,
#: kind, section). Only in files of storage version 1.2 or later (DuckDB 2's default).
ZSTD_COLUMNS: dict[str, frozenset[str]] = {
    "links": frozenset({"target_url", "anchor", "context"}),
    "link_observations": frozenset({"target_url", "anchor", "context"}),
}


def create_table_sql(name: str, *, if_not_exists: bool = True, zstd: bool = False, as_name: str | None = None) -> str:
    """``CREATE TABLE`` for one of :data:`TABLES`, derived from its Arrow schema; ``zstd``: with
    :data:`ZSTD_COLUMNS` compressed by zstd (a database file of storage version 1.2 or later);
    ``as_name``: the table made under another name (a copy to be renamed)."""
    schema = TABLES[name]
    packed = ZSTD_COLUMNS.get(name, frozenset()) if zstd else frozenset()
    cols = ",\n  ".join(
        f"{f.name} {duckdb_type(f.type)}{' USING COMPRESSION zstd' if f.name in packed else ''}" for f in schema
    )
    guard = "IF NOT EXISTS " if if_not_exists else ""
    return f"CREATE TABLE {guard}{as_name or name} (\n  {cols}\n)"


def column_names(name: str) -> list[str]:
    return TABLES[name].names


def describe(name: str) -> dict[str, str]:
    """Column name -> description, for docs and ``--help``."""
    return {f.name: f.metadata[b"description"].decode() for f in TABLES[name]}
