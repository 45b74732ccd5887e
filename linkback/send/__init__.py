"""Sending Webmentions, Pingbacks and TrackBacks for your own posts (``linkback send``).

:class:`Sender` notifies the targets of one post (:meth:`Sender.send_post`); :func:`send_feed`
does it for every new or changed entry of a feed or sitemap; the history is in ``sends``.
"""

from linkback.send._feeds import FeedResult, send_feed
from linkback.send._history import SendRecord, history, previous_targets, record_sends
from linkback.send._sender import DEFAULT_BUDGET, PostResult, Sender, SendOptions, check_budget, outbound_links

__all__ = [
    "DEFAULT_BUDGET",
    "FeedResult",
    "PostResult",
    "SendOptions",
    "SendRecord",
    "Sender",
    "check_budget",
    "history",
    "outbound_links",
    "previous_targets",
    "record_sends",
    "send_feed",
]
