"""Linkback protocols (Webmention, Pingback, TrackBack, Refback): the pure parts.

Parsing requests, building answers, checking that a source links to a target, reading a
mention's type and author: no I/O here. The server (``linkback.server``) and the sender do the
fetching and storing.
"""
