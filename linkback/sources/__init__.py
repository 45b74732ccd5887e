"""Where pages come from. Every source yields :class:`linkback.records.FetchedPage`."""

from .warc import (
    ARCHIVE_SUFFIXES,
    YIELDED_ANYWAY,
    ReadStats,
    iter_archive,
    iter_paths,
    iter_record_offsets,
    sniff_archive,
)

__all__ = [
    "ARCHIVE_SUFFIXES",
    "YIELDED_ANYWAY",
    "ReadStats",
    "iter_archive",
    "iter_paths",
    "iter_record_offsets",
    "sniff_archive",
]
