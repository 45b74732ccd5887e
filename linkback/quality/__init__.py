"""Link quality: toxicity with reasons, anchor classes, allow/deny lists and disavow files
(issue #3, DESIGN §4).

Example (over an index made by ``linkback ingest`` and ranked by ``linkback rank``)::

    from linkback import quality
    from linkback.store import Store

    rows = quality.toxic_domains(Store("linkback.duckdb", read_only=True), "example.com")
"""

from linkback.quality._anchors import ANCHOR_CLASSES, GENERIC_ANCHORS, AnchorProfile, classify_anchor, classify_anchors
from linkback.quality._disavow import (
    DISAVOW_RULES,
    MAX_BYTES,
    MAX_LINES,
    MAX_URL_CHARS,
    DisavowEntry,
    DisavowError,
    DisavowProblem,
    check_disavow,
    disavow_entries,
    write_disavow,
)
from linkback.quality._files import DISAVOW_MIN_SCORE, disavow
from linkback.quality._lists import (
    LISTS,
    add_to_list,
    get_profile,
    list_entries,
    normalize_entry,
    remove_from_list,
    set_profile,
)
from linkback.quality._signals import SIGNALS, Signal, combine
from linkback.quality._toxicity import score_domains, toxic_domains, toxic_links

__all__ = [
    "ANCHOR_CLASSES",
    "DISAVOW_MIN_SCORE",
    "DISAVOW_RULES",
    "GENERIC_ANCHORS",
    "LISTS",
    "MAX_BYTES",
    "MAX_LINES",
    "MAX_URL_CHARS",
    "SIGNALS",
    "AnchorProfile",
    "DisavowEntry",
    "DisavowError",
    "DisavowProblem",
    "Signal",
    "add_to_list",
    "check_disavow",
    "classify_anchor",
    "classify_anchors",
    "combine",
    "disavow",
    "disavow_entries",
    "get_profile",
    "list_entries",
    "normalize_entry",
    "remove_from_list",
    "score_domains",
    "set_profile",
    "toxic_domains",
    "toxic_links",
    "write_disavow",
]
