"""Bookmarks: read from the state file, checked, moved only forward, written as Singer STATE.

Shape: {"bookmarks": {stream: {"updated_at": "<RFC 3339>"}}, "currently_syncing": stream or null, "owed": [...],
"tap": "tap-intercom"}. "owed" lists per-record fetches owed to the next run (owed.py; states without it are read
as before); the mark tells this tap's state from singer-io/tap-intercom's (see peer.py).
A stream's bookmark may also hold its reconciliation pass (reconcile.py): "version" and "pass_updated_at" while
a pass is under way, "reconciled_at" once one completed (or since when a bookmark from before passes existed).
"""
import logging

from tap_intercom.config import parse_datetime
from tap_intercom.errors import ConfigError
from tap_intercom.reading.owed import Owed
from tap_intercom.records.timestamps import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")
CURSOR = "updated_at"
# reconcile.py's (version is an integer), and a report stream's export under way (reporting.py)
PASS_KEYS = ("version", "pass_updated_at", "reconciled_at", "export_from", "export_until")
FORMERLY_INCREMENTAL = {"companies"}  # released state files bookmark it; now every run reads it whole


def unwrapped(raw):
    """The Singer state inside `meltano state get` output ({"singer_state": {...}}), else `raw` as it is."""
    if isinstance(raw, dict) and set(raw) == {"singer_state"} and isinstance(raw["singer_state"], dict):
        LOGGER.info("state: reading the Singer state inside {\"singer_state\": ...} (meltano state get's form)")
        return raw["singer_state"]
    return raw


class State:
    def __init__(self, bookmarks=None, currently_syncing=None, owed=(), passes=None):
        self._bookmarks = dict(bookmarks or {})  # stream -> epoch seconds
        self.passes = dict(passes or {})  # stream -> {PASS_KEYS: int}, read and written by reconcile.py
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
        parsed, passes = {}, {}
        for stream, bookmark in bookmarks.items():
            if stream in FORMERLY_INCREMENTAL and stream not in incremental:
                continue
            if stream not in all_streams:
                raise ConfigError(f"state has a bookmark for {stream!r}, a stream tap-intercom does not have: "
                                  "is it another tap's state?")
            if stream not in incremental:
                raise ConfigError(f"state has a bookmark for {stream!r}, which tap-intercom syncs in full: "
                                  "the state is from another tap or an older version")
            if not isinstance(bookmark, dict):
                raise ConfigError(f"state: the bookmark of {stream!r} is in an older format ({bookmark!r}); "
                                  f"expected {{\"{CURSOR}\": \"<date-time>\"}}")
            extra = sorted(set(bookmark) - {CURSOR, *PASS_KEYS})
            if extra or not bookmark:
                raise ConfigError(f"state: the bookmark of {stream!r} has keys {sorted(bookmark)}, expected "
                                  f"{CURSOR!r} and {', '.join(PASS_KEYS)}: the state is from another tap or an "
                                  "older version")
            if CURSOR in bookmark:
                parsed[stream] = parse_datetime(bookmark[CURSOR], f"state: the bookmark of {stream!r}")
            passes[stream] = _parse_pass(stream, bookmark)
        current = raw.get("currently_syncing")
        if current is not None and (not isinstance(current, str) or current not in all_streams):
            LOGGER.warning("state: ignoring currently_syncing %r, not a stream of this tap", current)
            current = None
        return cls(parsed, current, Owed.parse(raw.get("owed"), all_streams),
                   {name: info for name, info in passes.items() if info})

    def bookmark(self, stream):
        return self._bookmarks.get(stream)

    def advance(self, stream, value):
        """Move a bookmark forward; a value behind the current bookmark is ignored. A pass under way moves
        with it: the same records were written."""
        if value is not None and value > self._bookmarks.get(stream, -1):
            self._bookmarks[stream] = value
        info = self.passes.get(stream)
        if value is not None and info and "version" in info and value > info.get("pass_updated_at", -1):
            info["pass_updated_at"] = value

    def value(self):
        bookmarks = {name: {CURSOR: epoch_to_rfc3339(value)} for name, value in self._bookmarks.items()}
        for name, info in self.passes.items():
            if info:
                bookmarks.setdefault(name, {}).update(
                    {key: info[key] if key == "version" else epoch_to_rfc3339(info[key]) for key in PASS_KEYS
                     if key in info})
        return {
            "bookmarks": dict(sorted(bookmarks.items())),
            "currently_syncing": self.currently_syncing,
            # always present, even empty: a tool that deep-merges states (Meltano's partial states) then
            # replaces the list instead of bringing settled entries back
            "owed": self.owed.value(),
            "tap": "tap-intercom",
        }


def _parse_pass(stream, bookmark):
    info = {}
    for key in PASS_KEYS:
        if key not in bookmark:
            continue
        if key == "version":
            if type(bookmark[key]) is not int or bookmark[key] <= 0:
                raise ConfigError(f"state: the version of {stream!r} must be a positive integer, got "
                                  f"{bookmark[key]!r}")
            info[key] = bookmark[key]
        else:
            info[key] = parse_datetime(bookmark[key], f"state: {key} of {stream!r}")
    if "pass_updated_at" in info and "version" not in info:
        raise ConfigError(f"state: {stream!r} has pass_updated_at without the version of its pass")
    return info
