"""What the server read, kept until the next write: the dashboard's heavy pages answer from here.

Keys carry the database's write generation (:class:`~linkback.store._db.WriteGeneration`), which
every committed write moves: an entry read before a write is never found after it, and falls out
of the bounded LRU in time. A key must name everything the value depends on but the data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from linkback.store import Store


class WriteCache:
    """A bounded LRU of values computed from one database, dropped by any write to it."""

    def __init__(self, store: Store, size: int = 64) -> None:
        self._store = store
        self._size = size
        self._entries: OrderedDict[tuple[int, Hashable], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key`` if it was computed since the last write, else ``compute()``'s.

        The generation is read before ``compute`` reads the database: a write that lands
        meanwhile leaves the value under the older generation, where no one looks again.
        Two requests missing at once both compute (no lock is held while computing).
        """
        full = (self._store.generation, key)
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                self.hits += 1
                return self._entries[full]
            self.misses += 1
        value = compute()
        with self._lock:
            if full[0] == self._store.generation:  # else a write came meanwhile: stale already
                for old in [k for k in self._entries if k[0] < full[0]]:
                    del self._entries[old]  # unreachable since the write: free them now
                self._entries[full] = value
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
