"""Cross-cutting request machinery: the rate limiter, fault injection and request statistics."""
import json
import math
import random
import threading
import time

FAULT_KINDS = {"400", "500", "502", "503", "504", "429", "401", "403", "404", "nonjson", "empty", "drop", "slow",
               "scroll_reset", "408", "429_odd", "lost", "served_504", "unavailable"}


class RateLimiter:
    """Fixed windows aligned to multiples of the window length (wall clock), one counter per app.
    Wall-clock time (not the emulator clock) so that X-RateLimit-Reset is usable by clients as is."""

    def __init__(self, limit, window):
        self.limit, self.window = int(limit), float(window)
        self._lock = threading.Lock()
        self._counts = {}

    def hit(self, app="app"):
        """Counts one request; returns (headers, allowed)."""
        with self._lock:
            now = time.time()
            start = now // self.window * self.window
            win, count = self._counts.get(app, (start, 0))
            count = count + 1 if win == start else 1
            self._counts[app] = (start, count)
            limit, reset = self.limit, math.ceil(start + self.window)
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - count)),
                   "X-RateLimit-Reset": str(reset)}
        return headers, count <= limit


class Faults:
    """Queued deterministic faults (first) and seeded random faults for API requests."""

    def __init__(self, rate=0.0, kinds=("500", "502", "503", "504", "429", "nonjson"), seed=1):
        self._lock = threading.Lock()
        self._queue = []
        self.configure(rate=rate, kinds=kinds, seed=seed)

    def configure(self, rate=None, kinds=None, seed=None):
        with self._lock:
            if rate is not None:
                self.rate = float(rate)
            if kinds is not None:
                kinds = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else [str(k) for k in kinds]
                unknown = [k for k in kinds if k not in FAULT_KINDS]
                if unknown:
                    raise ValueError("unknown fault kinds %s" % unknown)
                self.kinds = kinds
            if seed is not None:
                self._rng = random.Random(int(seed))

    def queue(self, kind, count=1, path="", method=None, after=0, from_after=None):
        """Fault the next `count` matching requests, once `after` matching requests have passed unharmed.
        `from_after` (epoch seconds): only searches whose updated_at range starts at or after it (a tap's window
        of updated_at in the workspace's future, say)."""
        if str(kind) not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r" % (kind,))
        with self._lock:
            self._queue.append({"kind": str(kind), "count": int(count), "path": path or "",
                                "method": method.upper() if method else None, "after": int(after),
                                "from_after": None if from_after is None else int(from_after)})

    def pick(self, method, path, raw=b""):
        with self._lock:
            for f in self._queue:
                if path.startswith(f["path"]) and f["method"] in (None, method) and (
                        f["from_after"] is None or (_range_start(raw) or float("-inf")) >= f["from_after"]):
                    if f["after"] > 0:
                        f["after"] -= 1
                        break
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self._queue.remove(f)
                    return f["kind"]
            if self.rate > 0 and self.kinds and self._rng.random() < self.rate:
                return self._rng.choice(self.kinds)
        return None

    def pending(self):
        with self._lock:
            return [dict(f) for f in self._queue]


def _range_start(raw):
    """The lower bound a search body puts on updated_at (`>` or `>=`), None without one."""
    try:
        query = json.loads(raw or b"{}").get("query") or {}
    except (ValueError, AttributeError):
        return None
    bounds, todo = [], [query]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if node.get("field") == "updated_at" and node.get("operator") in (">", ">=") \
                    and isinstance(node.get("value"), (int, float)):
                bounds.append(node["value"])
            todo.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            todo.extend(node)
    return max(bounds) if bounds else None


class Stats:
    """Counts API requests (never control calls) and tracks how many are in flight at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.requests, self.write_calls, self.in_flight, self.max_concurrency = 0, 0, 0, 0
            self.by_endpoint, self.by_status, self.versions = {}, {}, {}

    def begin(self, endpoint, version, write):
        with self._lock:
            self.requests += 1
            self.write_calls += 1 if write else 0
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
            self.versions[version] = self.versions.get(version, 0) + 1
            self.in_flight += 1
            self.max_concurrency = max(self.max_concurrency, self.in_flight)

    def end(self, status):
        with self._lock:
            self.in_flight -= 1
            key = str(status)
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def snapshot(self):
        with self._lock:
            return {"requests": self.requests, "by_endpoint": dict(self.by_endpoint),
                    "by_status": dict(self.by_status), "versions": dict(self.versions),
                    "write_calls": self.write_calls, "max_concurrency": self.max_concurrency,
                    "in_flight": self.in_flight}
