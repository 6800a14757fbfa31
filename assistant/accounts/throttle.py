"""LoginThrottle: after N failed logins for a name within a window, refuse that name for a window."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assistant.core.clock import Clock


@dataclass(slots=True)
class _Failures:
    times: deque[datetime] = field(default_factory=deque)
    blocked_until: datetime | None = None


class LoginThrottle:
    """Counts failed logins per account name (as typed, normalised), in this process.

    ``max_failures`` failures within ``window`` block the name for ``window`` from the last of them;
    then counting starts afresh. A success clears the name's count. Blocked attempts are refused
    without checking the password, so they neither count nor cost a hash.

    The count lives in process memory: with several workers each keeps its own, so the effective limit
    is ``max_failures`` × workers, and a restart forgets it. That still turns an online guessing attack
    from thousands of tries a minute into a handful per window; a shared limit would need Redis.
    At most ``max_names`` names are tracked (the least recently failed are forgotten first), so a
    flood of made-up names cannot grow memory without bound.
    """

    def __init__(
        self, clock: Clock, *, max_failures: int, window: timedelta, max_names: int = 10_000
    ) -> None:
        if max_failures < 1 or window <= timedelta(0) or max_names < 1:
            raise ValueError("max_failures and max_names must be at least 1, window more than zero")
        self._clock = clock
        self._max_failures = max_failures
        self._window = window
        self._max_names = max_names
        self._names: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, name: str) -> timedelta | None:
        """How long ``name`` stays blocked, or None when it may try now."""
        entry = self._names.get(_key(name))
        if entry is None or entry.blocked_until is None:
            return None
        left = entry.blocked_until - self._clock.now()
        if left > timedelta(0):
            return left
        del self._names[_key(name)]
        return None

    def failed(self, name: str) -> None:
        """Count a failed attempt (wrong password, unknown or disabled account)."""
        now = self._clock.now()
        key = _key(name)
        entry = self._names.pop(key, None) or _Failures()
        self._names[key] = entry  # most recent last
        if entry.blocked_until is not None:
            if entry.blocked_until > now:
                return
            entry.blocked_until = None
        while entry.times and entry.times[0] <= now - self._window:
            entry.times.popleft()
        entry.times.append(now)
        if len(entry.times) >= self._max_failures:
            entry.blocked_until = now + self._window
            entry.times.clear()
        while len(self._names) > self._max_names:
            self._names.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """A correct password: forget the name's failures."""
        self._names.pop(_key(name), None)


def _key(name: str) -> str:
    return name.strip().lower()
