"""Where pages come from. Every source yields :class:`linkback.records.FetchedPage`."""

from .warc import (
    ARCHIVE_SUFFIXES,
    YIELDED_ANYWAY,
    RangeBounds,
    ReadStats,
    gzip_per_record,
    iter_archive,
    iter_paths,
    iter_record_offsets,
    sniff_archive,
)
from .wat import WatPages, is_wat, iter_wat

__all__ = [
    "WatPages",
    "is_wat",
    "iter_wat",
    "ARCHIVE_SUFFIXES",
    "YIELDED_ANYWAY",
    "RangeBounds",
    "ReadStats",
    "gzip_per_record",
    "iter_archive",
    "iter_paths",
    "iter_record_offsets",
    "sniff_archive",
]
