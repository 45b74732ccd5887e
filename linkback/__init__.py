"""linkback: a self-hosted backlink index with open, recomputable scores."""

from linkback.errors import LinkbackError
from linkback.records import FetchedPage, Link, PageFacts

__version__ = "0.1.0"

__all__ = ["FetchedPage", "Link", "LinkbackError", "PageFacts", "__version__"]
