"""Bookmarks: read from the state file, checked, moved only forward, written as Singer STATE.

Shape: {"bookmarks": {stream: {"updated_at": "<RFC 3339>"}}, "currently_syncing": stream or null, "owed": [...],
"tap": "tap-intercom"}. "owed" lists per-record fetches owed to the next run (owed.py; states without it are read
as before); the mark tells this tap's state from singer-io/tap-intercom's (see peer.py).
"""
import logging

from tap_intercom.config import parse_datetime
from tap_intercom.errors import ConfigError
from tap_intercom.owed import Owed
from tap_intercom.transform import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")
CURSOR = "updated_at"


def unwrapped(raw):
    """The Singer state inside `meltano state get` output ({"singer_state": {...}}), else `raw` as it is."""
    if isinstance(raw, dict) and set(raw) == {"singer_state"} and isinstance(raw["singer_state"], dict):
        LOGGER.info("state: reading the Singer state inside {\"singer_state\": ...} (meltano state get's form)")
        return raw["singer_state"]
    return raw


class State:
    def __init__(self, bookmarks=None, currently_syncing=None, owed=()):
        self._bookmarks = dict(bookmarks or {})  # stream -> epoch seconds
        self.currently_syncing = currently_syncing  # only the engine's main thread reads and writes State
        self.owed = Owed(owed)

    @classmethod
    def parse(cls, raw, incremental, all_streams):
        """Check a state file's content; anything not written by this tap is refused with the reason."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ConfigError("state must be a JSON object like {\"bookmarks\": {...}}")
        bookmarks = raw.get("bookmarks") or {}
        if not isinstance(bookmarks, dict):
            raise ConfigError("state: \"bookmarks\" must be a JSON object")
        parsed = {}
        for stream, bookmark in bookmarks.items():
            if stream not in all_streams:
                raise ConfigError(f"state has a bookmark for {stream!r}, a stream tap-intercom does not have: "
                                  "is it another tap's state?")
            if stream not in incremental:
                raise ConfigError(f"state has a bookmark for {stream!r}, which tap-intercom syncs in full: "
                                  "the state is from another tap or an older version")
            if not isinstance(bookmark, dict):
                raise ConfigError(f"state: the bookmark of {stream!r} is in an older format ({bookmark!r}); "
                                  f"expected {{\"{CURSOR}\": \"<date-time>\"}}")
            extra = sorted(set(bookmark) - {CURSOR})
            if extra or CURSOR not in bookmark:
                raise ConfigError(f"state: the bookmark of {stream!r} has keys {sorted(bookmark)}, expected only "
                                  f"{CURSOR!r}: the state is from another tap or an older version")
            parsed[stream] = parse_datetime(bookmark[CURSOR], f"state: the bookmark of {stream!r}")
        current = raw.get("currently_syncing")
        if current is not None and (not isinstance(current, str) or current not in all_streams):
            LOGGER.warning("state: ignoring currently_syncing %r, not a stream of this tap", current)
            current = None
        return cls(parsed, current, Owed.parse(raw.get("owed"), all_streams))

    def bookmark(self, stream):
        return self._bookmarks.get(stream)

    def advance(self, stream, value):
        """Move a bookmark forward; a value behind the current bookmark is ignored."""
        if value is not None and value > self._bookmarks.get(stream, -1):
            self._bookmarks[stream] = value

    def value(self):
        return {
            "bookmarks": {name: {CURSOR: epoch_to_rfc3339(value)} for name, value in sorted(self._bookmarks.items())},
            "currently_syncing": self.currently_syncing,
            # always present, even empty: a tool that deep-merges states (Meltano's partial states) then
            # replaces the list instead of bringing settled entries back
            "owed": self.owed.value(),
            "tap": "tap-intercom",
        }
