"""Where Intacct's server-held ``readMore`` result sets stand, as far as one connector knows.

``readMore`` returns the page after the server's current position and moves it on, so
sending it is safe only when the server is known to be exactly where the listing is. That
is known only for a result set this connector read itself, whose last page it received,
and for which it has sent nothing since. Everything else (a cursor from another process,
a cursor older than a page already fetched ahead, a ``readMore`` whose answer was lost)
continues with ``query`` at the position, which can be repeated safely.

A position is *claimed* before ``readMore`` is sent and recorded again only when its
answer has been read, so a request cut off in between (a closed listing, a lost answer)
leaves nothing behind that would let ``readMore`` be sent a second time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["ResultSetPositions"]


class ResultSetPositions:
    """``resultId`` -> the position the server stands at, for result sets read here.

    :param limit: result sets remembered (the oldest are forgotten: they then continue with
        ``query``). Shared by the threads and tasks of one connector, hence the lock.
    """

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._positions: OrderedDict[str, int] = OrderedDict()

    def record(self, result_id: str, position: int) -> None:
        """The server answered a page of ``result_id`` and now stands at ``position``."""
        with self._lock:
            self._positions[result_id] = position
            self._positions.move_to_end(result_id)
            while len(self._positions) > self._limit:
                self._positions.popitem(last=False)

    def claim(self, result_id: str, position: int) -> bool:
        """Whether ``readMore`` may be sent for ``result_id`` to read from ``position``.

        True at most once per recorded position: the entry is removed either way.
        """
        with self._lock:
            return self._positions.pop(result_id, None) == position

    def __len__(self) -> int:
        with self._lock:
            return len(self._positions)
