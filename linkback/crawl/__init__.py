"""``linkback crawl``: a polite, guarded crawl with Scrapy as the engine, kept as WARC files.

* :mod:`linkback.crawl._run` — :func:`run_crawl` (settings, one run per process, the summary);
* :mod:`linkback.crawl._spider` — seeds, scope (site, hosts, list), depth, the page budget;
* :mod:`linkback.crawl._politeness` — Crawl-delay and Retry-After as per-host floors on
  AutoThrottle's delays (Scrapy honours neither);
* :mod:`linkback.crawl._guard` — the fetcher's SSRF rules as a downloader middleware and as the
  Twisted resolver Scrapy connects through;
* :mod:`linkback.crawl._warc` — request and response records per fetch, rotated files.

The WARC files are then ingested like any archive (:func:`linkback.jobs.ingest_files`).
Scrapy is imported only when a crawl runs.
"""

from linkback.crawl._run import CrawlError, CrawlSummary, run_crawl, user_agent
from linkback.crawl._scope import SCOPES, Scope

__all__ = ["SCOPES", "CrawlError", "CrawlSummary", "Scope", "run_crawl", "user_agent"]
