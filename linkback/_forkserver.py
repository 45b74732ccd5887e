"""Imported by ingest's forkserver before the extraction code (``linkback._workers.PRELOAD``),
and by nothing else: the forkserver exits once the command that started it has gone, even by
``kill -9``, and its workers with it (see :mod:`linkback._workers`)."""

from linkback._workers import exit_with_parent

exit_with_parent()
