"""The crawl's error (no Scrapy here)."""

from linkback.errors import LinkbackError


class CrawlError(LinkbackError):
    """A crawl that cannot start: bad seeds, scope or output directory, nothing to resume."""

    http_status = 400
