"""HTTP to Intercom: authentication, pacing under the rate limit, retries, and errors as one line."""
import collections
import email.utils
import json
import logging
import threading
import time

import backoff
import requests
from requests.adapters import HTTPAdapter
from singer import metrics

from tap_intercom.errors import ApiError, NotFound, ScrollExists

LOGGER = logging.getLogger("tap_intercom")

RETRY_STATUSES = {500, 502, 503, 504}
MAX_RATE_LIMIT_WAITS = 30  # consecutive 429s before giving up; each waits for the window to reset


class RateLimiter:
    """Keeps requests under Intercom's per-app budget (read from X-RateLimit-* headers) and the tap's own cap.

    Intercom counts requests per app in short windows (10 s in its docs) and answers 429 past the limit. The
    tap spends the budget freely but stops before it runs out and waits for the window to reset, so it
    rarely meets a 429. Its own cap (requests in any 60 s) leaves room for other apps of the workspace.
    """

    def __init__(self, max_per_minute, reserve=1):
        self._cond = threading.Condition()
        self._max_per_minute = max_per_minute
        self._sent = collections.deque()
        self._reserve = reserve
        self._remaining = None  # requests left in the current server window, as far as we know
        self._window_end = 0.0  # monotonic time the server window resets
        self._window_id = None  # the server's X-RateLimit-Reset value for that window

    def acquire(self):
        with self._cond:
            while True:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - 60:
                    self._sent.popleft()
                wait = 0.0
                if len(self._sent) >= self._max_per_minute:
                    wait = self._sent[0] + 60 - now
                if self._remaining is not None:
                    if now >= self._window_end:
                        self._remaining = None  # a new window: the next response tells its budget
                    elif self._remaining <= self._reserve:
                        wait = max(wait, self._window_end - now)
                if wait <= 0:
                    break
                self._cond.wait(wait)
            self._sent.append(now)
            if self._remaining is not None:
                self._remaining -= 1

    def observe(self, response):
        """Learn the budget from a response's headers; a 429 empties it until the reset."""
        headers = response.headers
        try:
            remaining = int(headers["X-RateLimit-Remaining"])
            reset = int(float(headers["X-RateLimit-Reset"]))
        except (KeyError, ValueError):
            if response.status_code == 429:  # no headers: back off for a typical window
                self._exhaust(None, time.monotonic() + 10)
            return
        if response.status_code == 429:
            remaining = 0
        # Reset is the server's epoch second; measure it against the server's own Date header so a skewed
        # local clock cannot make the tap wait too long or not at all.
        server_now = _server_time(headers) or time.time()
        window_end = time.monotonic() + min(max(reset - server_now, 0.0), 60.0) + 0.05
        with self._cond:
            if self._window_id is None or reset > self._window_id:
                self._window_id, self._window_end, self._remaining = reset, window_end, remaining
            elif reset == self._window_id and self._remaining is not None:
                self._remaining = min(self._remaining, remaining)
            self._cond.notify_all()

    def _exhaust(self, window_id, window_end):
        with self._cond:
            self._window_id, self._window_end, self._remaining = window_id, window_end, 0


def _server_time(headers):
    try:
        return email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


class IntercomClient:
    """One keep-alive session shared by every worker thread; every request goes through `request`."""

    def __init__(self, config):
        self.base_url = config.base_url
        self.timeout = config.request_timeout
        self.max_retries = config.max_retries
        self.limiter = RateLimiter(config.max_requests_per_minute, reserve=min(config.max_workers, 8))
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=config.max_workers + 4, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({
            "Authorization": f"Bearer {config.access_token}",
            "Accept": "application/json",
            "Intercom-Version": config.api_version,
            "User-Agent": config.user_agent,
        })

    def get(self, path, params=None, endpoint=None):
        return self.request("GET", path, params=params, endpoint=endpoint)

    def post(self, path, body, endpoint=None):
        return self.request("POST", path, body=body, endpoint=endpoint)

    def request(self, method, path, params=None, body=None, endpoint=None):
        """Send one request, retrying what is transient; return the JSON body of the 200 response."""
        url = path if path.startswith("http") else self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        delays = backoff.expo(base=2, factor=0.5, max_value=30)
        next(delays)  # backoff's generators yield None first
        failures = rate_limited = 0
        while True:
            self.limiter.acquire()
            problem = None
            started = time.monotonic()
            try:
                response = self.session.request(method, url, params=params, data=data, headers=headers,
                                                timeout=self.timeout)
                _log_timer(endpoint or path, started, response.status_code)
            except requests.Timeout:
                _log_timer(endpoint or path, started, None)
                problem = f"no response within {self.timeout:g} s"
            except requests.ConnectionError as exc:
                _log_timer(endpoint or path, started, None)
                problem = f"connection failed ({_root_cause(exc)})"
            else:
                self.limiter.observe(response)
                status = response.status_code
                if status == 200:
                    try:
                        return json.loads(response.content)
                    except ValueError:
                        problem = "HTTP 200 with a body that is not JSON"
                elif status == 429:
                    rate_limited += 1
                    if rate_limited <= MAX_RATE_LIMIT_WAITS:
                        LOGGER.info("rate limited (429) on %s %s; waiting for the window to reset", method, path)
                        continue  # acquire() waits until X-RateLimit-Reset
                    problem = f"HTTP 429 {MAX_RATE_LIMIT_WAITS} times in a row"
                elif status in RETRY_STATUSES:
                    problem = f"HTTP {status}{_error_detail(response)}"
                else:
                    raise _api_error(method, path, response)
            failures += 1
            if failures > self.max_retries:
                raise ApiError(f"{method} {path} failed after {failures} attempts: {problem}")
            delay = backoff.full_jitter(next(delays))
            LOGGER.warning("%s %s: %s; retry %d of %d in %.1f s", method, path, problem, failures,
                           self.max_retries, delay)
            time.sleep(delay)


def _log_timer(endpoint, started, status):
    """singer's standard http_request_duration METRIC line (its Timer reloads logging config per call)."""
    tags = {"endpoint": endpoint, "http_status_code": status, "status": "succeeded" if status == 200 else "failed"}
    metrics.log(LOGGER, metrics.Point("timer", metrics.Metric.http_request_duration, time.monotonic() - started,
                                      tags))


def _root_cause(exc):
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return type(exc).__name__


def _errors(response):
    try:
        errors = json.loads(response.content).get("errors") or []
        return errors[0].get("code"), errors[0].get("message")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None, None


def _error_detail(response):
    code, message = _errors(response)
    return f" {code}: {message}" if code else ""


def _api_error(method, path, response):
    status = response.status_code
    code, message = _errors(response)
    detail = f"{status} {code}: {message}" if code else f"HTTP {status}"
    if status == 401:
        return ApiError(f"Intercom rejected the access token ({detail}); check access_token and region", status,
                        code)
    if status == 403:
        return ApiError(f"the access token may not call {method} {path} ({detail}); grant the app that "
                        "permission or deselect the stream", status, code)
    if status == 404:
        return NotFound(f"{method} {path}: {detail}", status, code)
    if status == 400 and code == "scroll_exists":
        return ScrollExists(f"{method} {path}: {detail}", status, code)
    return ApiError(f"{method} {path} was refused: {detail}", status, code)
