"""Progress lines while syncing: how many records each stream has written, and how fast."""
import collections
import logging
import time

from tap_intercom.records.output import log_metric

LOGGER = logging.getLogger("tap_intercom")

INTERVAL = 30.0  # seconds between progress lines per stream


class Progress:
    """Record counts: singer's record_count METRIC lines plus a readable line per stream, every interval and
    when its source completes."""

    def __init__(self):
        self.started = self.last_log = time.monotonic()
        self.totals = collections.Counter()
        self.unlogged = collections.Counter()

    def count(self, counts):
        self.totals.update(counts)
        self.unlogged.update(counts)
        now = time.monotonic()
        if now - self.last_log >= INTERVAL:
            self.last_log = now
            self._log("progress", sorted(self.totals), now)

    def done(self, names):
        self._log("done", names, time.monotonic())

    def finish(self):
        self._log("progress", [name for name in sorted(self.unlogged) if self.unlogged[name]], time.monotonic())

    def _log(self, what, names, now):
        elapsed = max(now - self.started, 1e-9)
        for name in names:
            if self.unlogged[name]:
                log_metric("counter", "record_count", self.unlogged[name], {"endpoint": name})
                self.unlogged[name] = 0
            LOGGER.info("%s %s: %d records in %.1f s (%.0f/s)", what, name, self.totals[name], elapsed,
                        self.totals[name] / elapsed)
