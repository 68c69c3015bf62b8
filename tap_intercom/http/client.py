"""HTTP to Intercom: authentication, pacing under the rate limit, retries, and errors as one line."""
import collections
import email.utils
import http.client
import json
import logging
import re
import socket
import threading
import time
from urllib.parse import urlencode

from tap_intercom.http.concurrency import InFlightTarget
from tap_intercom.errors import AnswerLost, ApiError, NotFound, PendingJobsFull, ScrollExists, TapError
from tap_intercom.records.output import log_metric, loads
from tap_intercom.http.transport import Transport

LOGGER = logging.getLogger("tap_intercom")

RETRY_STATUSES = {408, 500, 502, 503, 504}
# Answers that say the request was not served (429: over the limit; 503: no server took it), so a retry
# cannot repeat it; any other failure (a 502/504 from a proxy after Intercom served it) leaves it unknown.
NOT_SERVED_STATUSES = {429, 503}
MAX_RATE_LIMIT_WAITS = 30  # consecutive 429s before giving up; each waits for the window to reset
# A company scroll broken by a network error on Intercom's side cannot continue: its 500 says so, and the
# scroll pager restarts it as it does an expired one (a 404).
RESTART_SCROLL = "restart the scroll"
# The Reporting Data Export's own 429, "Exceeded rate limit of 5 pending reporting dataset export jobs", is about
# jobs, not the request budget: told apart by its message.
PENDING_JOBS_LIMIT = re.compile(rb"pending[^\"]*\bjobs\b")
DEFAULT_WINDOW = 10.0  # seconds: Intercom's documented rate-limit window, until its headers say otherwise


class RateLimiter:
    """Keeps requests under Intercom's per-app budget (read from X-RateLimit-* headers) and the tap's own cap.

    Intercom counts requests per app in short windows (10 s in its docs) and answers 429 past the limit. The
    tap spends each window's budget freely (less those in flight and about 1 in 200 kept back), then waits
    for the window to reset, so it rarely meets a 429. The first request of a run goes alone, to learn the
    budget. The tap's own cap (requests in any 60 s) leaves room for other apps of the workspace. It is also the
    one worker limit: at most rate x latency requests in flight (concurrency.py), whoever sends them.
    """

    def __init__(self, max_per_minute, reserve=1, max_in_flight=16):
        self._cond = threading.Condition()
        self._max_per_minute = max_per_minute
        self._sent = collections.deque()
        self._reserve = reserve
        self._limit = None  # X-RateLimit-Limit, once seen
        self._window_seconds = DEFAULT_WINDOW  # the window's length, as the server's headers show it
        self._budget = 1  # requests we may still send in this window; None: the server sets no limit
        self._window_end = time.monotonic() + DEFAULT_WINDOW  # monotonic time the window resets
        self._window_id = None  # the server's X-RateLimit-Reset of the window the budget is for (None: unknown)
        self._least = None  # the least X-RateLimit-Remaining answered in that window
        self._last_reset = None  # the latest X-RateLimit-Reset seen
        self._in_flight = 0  # sent, not yet answered: they may land in the next window
        self._in_flight_target = InFlightTarget(max_in_flight)

    def acquire(self, per_record=False):
        """Wait for room in the budget, and for a slot in flight: per-record fetches keep to the in-flight
        target; page chains (search windows, the scroll, listings), each one sequential, may go up to the
        ceiling, so that a chain never queues behind the many fetches (its wait would add up page after page)."""
        with self._cond:
            while True:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - 60:
                    self._sent.popleft()
                wait = self._sent[0] + 60 - now if len(self._sent) >= self._max_per_minute else 0.0
                if now >= self._window_end:
                    # The window is over: a fresh budget (one probe while the limit is unknown), until the
                    # answers say more. Answers from the old window no longer count.
                    self._window_end = now + self._window_seconds
                    self._window_id = None
                    if self._budget is not None:
                        self._budget = self._limit - self._spare() - self._in_flight if self._limit else 1
                    self._cond.notify_all()
                if self._budget is not None and self._budget <= 0:
                    wait = max(wait, self._window_end - now)
                slots = self.in_flight_target() if per_record else self._in_flight_target.ceiling
                busy = self._in_flight >= slots  # enough in flight to spend the budget
                if wait <= 0 and not busy:
                    break
                # A slot frees with an answer, which wakes one waiter; the timeout only guards against a wake
                # taken by a waiter that could not use it.
                self._cond.wait(wait if wait > 0 else 1.0)
            self._sent.append(now)
            self._in_flight += 1
            if self._budget is not None:
                self._budget -= 1
            if self._in_flight < self.in_flight_target():
                self._cond.notify()  # room for one more: pass it on (answers wake only one waiter each)

    def rate(self):
        """Requests per second the budget allows: Intercom's limit per window, or the tap's own cap."""
        own = self._max_per_minute / 60.0
        return min(own, self._limit / self._window_seconds) if self._limit else own

    def in_flight_target(self):
        return self._in_flight_target.target(self.rate())

    def in_flight_ceiling(self):
        """`max_workers`: requests in flight at most, whoever sends them."""
        return self._in_flight_target.ceiling

    def _spare(self):
        """Requests of each window left unspent, for what the arithmetic cannot see (those in flight are
        counted apart): about 1 in 200. A fixed 8 left 8 of 167 unspent, 5% of the time at 1,000 a minute."""
        limit = self._limit or 0
        return min(self._reserve, limit // 5, 1 + limit // 200)

    def observe(self, status, headers, latency=None, server_now=None):
        """Learn the budget from a response (headers None: no response came); a 429 empties it. server_now: the
        server's time now (ServerClock), else this answer's Date, to time the window's end."""
        try:
            remaining = int(headers["X-RateLimit-Remaining"])
            reset = int(float(headers["X-RateLimit-Reset"]))
            limit = int(headers.get("X-RateLimit-Limit") or 0) or None
        except (KeyError, TypeError, ValueError):
            remaining = None
        with self._cond:  # one lock for the answer and what it says: `_in_flight` is then exact below
            self._in_flight -= 1
            if latency is not None:
                self._in_flight_target.observe(latency)
            self._cond.notify()
            if remaining is None:
                self._observe_unlimited(status, headers)
                return
            if status == 429:
                retry_after = _retry_after(headers)
                if retry_after is not None:  # not documented by Intercom, but honoured when sent
                    self._empty_until(retry_after)
                    return
                remaining = 0
            self._limit = limit or self._limit
            # Requests still in flight may not be counted in `remaining` yet: count them as spent.
            budget = remaining - self._spare() - self._in_flight
            if self._last_reset is not None and reset <= self._last_reset:
                if reset != self._window_id or self._budget is None:
                    return  # a late answer from a window already over
                self._least = min(self._least, remaining)
                if budget < self._budget:
                    self._budget = budget
                elif self._in_flight == 0 and self._least - self._spare() > self._budget:
                    # Nothing in flight: the least `remaining` of the window counts all we sent. Without this,
                    # answers that came back in another order than the server counted them, each counted
                    # again as in flight, left 5-8 of each window's 167 unspent.
                    self._budget = self._least - self._spare()
                    self._cond.notify_all()
                return
            if self._last_reset is not None:  # consecutive windows are one window apart; skipped ones, more
                gap = min(max(reset - self._last_reset, 1), 60)
                self._window_seconds = gap if self._window_seconds == DEFAULT_WINDOW else min(self._window_seconds, gap)
            self._window_id = self._last_reset = reset
            self._budget, self._least = budget, remaining
            # Reset is the server's epoch second; measure it against the server's own clock (its Date headers)
            # so a skewed local clock cannot make the tap wait too long or not at all.
            server_now = server_now or _server_time(headers) or time.time()
            seconds_left = min(max(reset - server_now, 0.0), 60.0) + 0.05
            self._window_end = time.monotonic() + seconds_left
            self._cond.notify_all()

    def _observe_unlimited(self, status, headers):
        """An answer without budget headers (or no answer)."""
        if status == 429:  # no budget headers: wait as told (Retry-After), else for a typical window
            self._empty_until(_retry_after(headers) or DEFAULT_WINDOW)
        elif status is not None and self._limit is None:  # a server without rate-limit headers sets no budget
            self._budget = None
            self._cond.notify_all()
        elif status is None and self._limit is None:
            # no answer to the probe: the retry probes again rather than waiting out a window (a refused
            # connection never reached Intercom; a lost request is one request)
            if self._budget is not None and self._budget <= 0:
                self._budget = 1
                self._cond.notify_all()

    def _empty_until(self, seconds):
        with self._cond:
            self._budget = 0
            self._window_end = time.monotonic() + min(seconds, 60.0)


def _seconds(value):
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return None


def _retry_after(headers):
    """Retry-After in seconds, or as an HTTP date (measured against the server's Date); None if neither."""
    value = headers.get("Retry-After") if headers else None
    seconds = _seconds(value)
    if seconds is None and value:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        seconds = max(when - (_server_time(headers) or time.time()), 0.0)
    return seconds


def _server_time(headers):
    try:
        return email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


class ServerClock:
    """Intercom's clock, from the Date header of its answers: bookmarks are capped by it, so a machine whose clock
    runs ahead cannot move a bookmark past changes Intercom has not served yet, and the rate limiter times the
    end of each window by it.

    Date is truncated to the second and written before the answer reaches us, so each sample (Date less our
    monotonic clock on arrival) is at or below the true difference: the estimate is the greatest sample of the
    last minute (one every SAMPLE_SECONDS). It errs low, never high: towards re-reading, and towards waiting a
    little too long for a window, by less than a second at first and by little once samples have fallen at
    different fractions of a second. Measured against the monotonic clock, a step of the machine's clock (NTP)
    does not move it."""

    SAMPLE_SECONDS = 0.5
    KEEP_SECONDS = 60.0  # a sample older than this no longer counts (should Intercom's clock be stepped back)

    def __init__(self):
        self._checked = float("-inf")
        self._samples = collections.deque()  # (monotonic time, sample), samples decreasing: the first is the greatest
        self._lock = threading.Lock()
        self._ahead = None  # Intercom's epoch time less our monotonic time; None until an answer carried a Date

    def observe(self, headers):
        now = time.monotonic()
        if now - self._checked < self.SAMPLE_SECONDS:
            return
        server = _server_time(headers)
        if server is None:
            return
        sample = server - time.monotonic()
        with self._lock:
            self._checked = now
            samples = self._samples
            while samples and samples[0][0] < now - self.KEEP_SECONDS:
                samples.popleft()
            while samples and samples[-1][1] <= sample:
                samples.pop()
            samples.append((now, sample))
            self._ahead = samples[0][1]

    def now(self):
        """Intercom's epoch time now, or None before any answer carried a Date."""
        ahead = self._ahead
        return None if ahead is None else time.monotonic() + ahead

    def to_server(self, local_epoch):
        """A moment of our clock in Intercom's (unchanged while no Date was seen)."""
        server = self.now()
        return local_epoch if server is None else local_epoch + (server - time.time())


class IntercomClient:
    """Every request goes through `request`: paced, timed, retried, and its errors turned into one line."""

    def __init__(self, config):
        self.base_url = config.base_url
        self.timeout = config.request_timeout
        self.max_retries = config.max_retries
        self.limiter = RateLimiter(config.max_requests_per_minute, reserve=min(config.max_workers, 8),
                                   max_in_flight=config.max_workers)
        self.transport = Transport(config.base_url, config.request_timeout)
        self.clock = ServerClock()
        self.headers = {
            "Authorization": f"Bearer {config.access_token}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",  # JSON pages shrink several times over a real network
            "Intercom-Version": config.api_version,
            "User-Agent": config.user_agent,
        }
        self.post_headers = {**self.headers, "Content-Type": "application/json"}
        self._thread = threading.local()
        # streams skipped because Intercom refused their calls (a scope, a plan, "not available"): the engine
        # and the readers that skip a stream themselves note them here; fail_on_skipped_streams reads it
        self.skipped = set()

    def per_record_thread(self):
        """Mark the calling thread as one of the per-record fetch workers (see RateLimiter.acquire)."""
        self._thread.per_record = True

    def get(self, path, params=None, endpoint=None, replayable=True, version=None):
        return self.request("GET", path, params=params, endpoint=endpoint, replayable=replayable, version=version)

    def post(self, path, body, endpoint=None, version=None):
        return self.request("POST", path, body=body, endpoint=endpoint, version=version)

    def download(self, path, sink, endpoint=None, version=None):
        """GET a file (an export) into the binary file `sink`, paced and retried like any request."""
        return self.request("GET", path, endpoint=endpoint, version=version, sink=sink)

    def request(self, method, path, params=None, body=None, endpoint=None, replayable=True, version=None,
                sink=None):
        """Send one request, retrying what is transient; return the JSON body of the 200 response.

        replayable=False: a request that changes state on Intercom's side (a scroll continuation) is not
        retried when its outcome is unknown; AnswerLost is raised instead. version: another Intercom-Version
        for this request (an endpoint newer than the configured version)."""
        if path.startswith(self.base_url):  # a `pages.next` URL
            path = path[len(self.base_url):]
        elif "://" in path:
            raise ApiError(f"Intercom pointed to a page outside {self.base_url}: {path}")
        url = path + (("&" if "?" in path else "?") + urlencode(params) if params else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = self.post_headers if data is not None else self.headers
        if version:
            headers = {**headers, "Intercom-Version": version}
        if sink is not None:  # the export download wants this Accept; its body is compressed already
            headers = {**headers, "Accept": "application/octet-stream", "Accept-Encoding": "identity"}
        endpoint = endpoint or path
        delays = None  # backoff's exponential delays, made at the first failure (its import is not free)
        failures = rate_limited = 0
        while True:
            self.limiter.acquire(getattr(self._thread, "per_record", False))
            LOGGER.debug("%s %s body=%s", method, url, body)
            started = time.monotonic()
            status = None
            try:
                status, response_headers, content = self.transport.request(method, url, data, headers,
                                                                           retry_stale=replayable, sink=sink)
            except (socket.timeout, TimeoutError):
                problem = f"no response within {self.timeout:g} s"
            except (OSError, http.client.HTTPException) as exc:
                problem = f"connection failed ({_root_cause(exc)})"
            except (ValueError, UnicodeError):  # a header http.client refuses; never show it, it may be the token
                self.limiter.observe(None, None)
                raise ApiError(f"{method} {path}: a request header holds characters HTTP does not allow "
                               "(check access_token and user_agent)") from None
            _log_timer(endpoint, started, status)
            # A 429 about pending export jobs (reporting.py) says nothing of the request budget: not emptied.
            jobs_full = status == 429 and PENDING_JOBS_LIMIT.search(content) is not None
            if status is not None:
                self.clock.observe(response_headers)
            self.limiter.observe(200 if jobs_full else status, response_headers if status is not None else None,
                                 time.monotonic() - started if status is not None else None,
                                 server_now=self.clock.now())
            if status is not None:
                if status == 200 and sink is not None:
                    return None
                if status == 200:
                    try:
                        return loads(content)
                    except ValueError:
                        problem = "HTTP 200 with a body that is not JSON"
                elif jobs_full:
                    raise PendingJobsFull(f"{method} {path}: {_error_detail(content).strip()}", status)
                elif status == 429:
                    rate_limited += 1
                    if rate_limited <= MAX_RATE_LIMIT_WAITS:
                        LOGGER.info("rate limited (429) on %s %s; waiting for the window to reset", method, path)
                        continue  # acquire() waits until X-RateLimit-Reset
                    problem = f"HTTP 429 {MAX_RATE_LIMIT_WAITS} times in a row"
                elif status in RETRY_STATUSES:
                    problem = f"HTTP {status}{_error_detail(content)}"
                    if RESTART_SCROLL in problem:
                        raise NotFound(f"{method} {path}: {problem}", status)
                else:
                    raise _api_error(method, path, status, content)
            if not replayable and status not in NOT_SERVED_STATUSES:
                raise AnswerLost(f"{method} {path}: {problem}", status)
            failures += 1
            if failures > self.max_retries:
                raise ApiError(f"{method} {path} failed after {failures} attempts: {problem}")
            if delays is None:
                import backoff
                delays = backoff.expo(base=2, factor=0.5, max_value=30)
                next(delays)  # backoff's generators yield None first
                jitter = backoff.full_jitter
            delay = jitter(next(delays))
            LOGGER.warning("%s %s: %s; retry %d of %d in %.1f s", method, path, problem, failures,
                           self.max_retries, delay)
            time.sleep(delay)


def _log_timer(endpoint, started, status):
    tags = {"endpoint": endpoint, "http_status_code": status, "status": "succeeded" if status == 200 else "failed"}
    log_metric("timer", "http_request_duration", time.monotonic() - started, tags)


def _root_cause(exc):
    """The innermost error's name (some errors keep their cause in args rather than in __cause__)."""
    for _ in range(10):
        inner = exc.__cause__ or exc.__context__ or next(
            (arg for arg in exc.args if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        exc = inner
    return type(exc).__name__


def _errors(content):
    try:
        errors = json.loads(content).get("errors") or []
        return errors[0].get("code"), errors[0].get("message")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None, None


def _error_detail(content):
    code, message = _errors(content)
    return f" {code}: {message}" if code else ""


def _api_error(method, path, status, content):
    code, message = _errors(content)
    detail = f"{status} {code}: {message}" if code else f"HTTP {status}"
    if status == 401:
        return ApiError(f"Intercom rejected the access token ({detail}); check access_token and region", status,
                        code)
    if status == 403:
        return ApiError(f"the access token may not call {method} {path} ({detail}): the app needs that "
                        "permission (scope) or the workspace that plan",
                        status, code)
    if status == 404:
        return NotFound(f"{method} {path}: {detail}", status, code)
    if status == 400 and code == "scroll_exists":
        return ScrollExists(f"{method} {path}: {detail}", status, code)
    return ApiError(f"{method} {path} was refused: {detail}", status, code)


def check_token(client, unreachable_is_fatal):
    """One cheap call (GET /me: the token's admin and workspace) before anything reaches stdout, so a rejected
    token stops the run with stdout empty: a target creates its tables on the first SCHEMA. (Holding SCHEMA
    messages back until some answer proved the token would save this call, but sources that make no call, and
    answers that are neither, would need their own rules.) Any answer but a 401 proves the token: /me wants the
    read_admins scope, which a token may lack (403), and the streams then say what else it lacks."""
    try:
        client.get("/me")
    except TapError as exc:
        status = getattr(exc, "status", None)
        if status == 401 or (status is None and unreachable_is_fatal):
            raise
        LOGGER.debug("token check: %s (the token was not refused)", exc)
