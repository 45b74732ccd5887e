"""``linkback crawl``: a polite, guarded crawl with Scrapy as the engine, kept as WARC files.

* :mod:`linkback.crawl._run` — :func:`run_crawl` (settings, one run per process, the summary);
* :mod:`linkback.crawl._spider` — seeds, scope (site, hosts, list), depth, the page budget;
* :mod:`linkback.crawl._politeness` — Crawl-delay and Retry-After as per-host floors on
  AutoThrottle's delays (Scrapy honours neither);
* :mod:`linkback.crawl._guard` — the fetcher's SSRF rules as a downloader middleware and as the
  Twisted resolver Scrapy connects through;
* :mod:`linkback.crawl._warc` — request and response records per fetch (revisit records for
  unchanged payloads, conversion records of rendered pages), rotated files;
* :mod:`linkback.crawl._frontier` — the frontier in DuckDB (``crawl_frontier``): resuming;
* :mod:`linkback.crawl._live` — the frontier's writer and the live ingest, threads beside the
  reactor: pages reach the store through :func:`linkback.ingest.ingest_pages` as they come;
* :mod:`linkback.crawl._job` and :mod:`linkback.crawl._child` — the crawl as a server's job:
  the crawling in a child process, the keeping in the job.

Scrapy is imported only when a crawl runs.
"""

from linkback.crawl._errors import CrawlError
from linkback.crawl._run import CrawlOptions, CrawlSummary, run_crawl, user_agent
from linkback.crawl._scope import SCOPES, Scope, ScopeKind

__all__ = ["SCOPES", "CrawlError", "CrawlOptions", "CrawlSummary", "Scope", "ScopeKind", "run_crawl", "user_agent"]
