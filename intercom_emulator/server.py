"""HTTP layer: a threading HTTP/1.1 keep-alive server, the request pipeline (stats, latency, faults, auth,
rate limit, version check, scopes, dispatch) and the control API under /_emulator/."""
import datetime
import email.utils
import gc
import gzip
import json
import sys
import re
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .answers import RawList, Request
from .api import READ_ONLY_POSTS, Api, plaintext
from .extras import apply_truth
from .limits import Faults, RateLimiter, Stats
from .search import SearchError, Searcher
from .workspace import MutationError, Workspace

VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "Unstable", "Preview"} | {"2.%d" % i for i in range(17)}
DEFAULT_VERSION = "2.14"
DEFAULT_FAULT_KINDS = "500,502,503,504,429,nonjson"
FAULT_ERRORS = {"500": ("server_error", "An unexpected error occurred"),
                "502": ("bad_gateway", "Bad Gateway"), "503": ("service_unavailable", "Service Unavailable"),
                "504": ("gateway_timeout", "Gateway Timeout"), "401": ("unauthorized", "Access Token Invalid"),
                "403": ("api_plan_restricted", "Active subscription needed."),
                "404": ("not_found", "Resource Not Found"), "400": ("bad_request", "Bad request"),
                "408": ("request_timeout", "Request Timeout"),
                "unavailable": ("intercom_version_invalid",
                                "Requested resource is not available in current API version."),
                "scroll_reset": ("server_error", "Request failed due to an internal network error. "
                                                 "Please restart the scroll operation.")}
JSON = "application/json; charset=utf-8"


def parse_clock(clock):
    """None = yesterday 12:00:00 UTC; ISO 8601 text (naive = UTC) or epoch seconds otherwise."""
    if clock is None:
        today = datetime.datetime.now(datetime.timezone.utc).date()
        noon = datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time(12),
                                         tzinfo=datetime.timezone.utc)
        return int(noon.timestamp())
    if isinstance(clock, (int, float)):
        return int(clock)
    dt = datetime.datetime.fromisoformat(str(clock).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def error_body(code, message):
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}


class Emulator:
    """A local Intercom API. `Emulator(...).start()` serves on `self.url` from a daemon thread."""

    def __init__(self, seed=7, contacts=500, companies=100, conversations=150, token="emulator-token",
                 clock=None, tz_offset_hours=0, latency_ms=0, rate_limit=1667, rate_window=10, scroll_expiry=60,
                 scroll_page_size=50, fault_rate=0.0, fault_kinds=DEFAULT_FAULT_KINDS, fault_seed=1,
                 host="127.0.0.1", port=0, slow_seconds=5.0, gzip=False, tickets=40, activity_logs=400,
                 clock_headers=False):
        self.host, self.port = host, int(port)
        # Date and X-RateLimit-Reset in the emulator's clock (as Intercom's own clock), not the machine's
        self.clock_headers = bool(clock_headers)
        self.gzip = bool(gzip)  # compress responses for clients that send Accept-Encoding: gzip
        gc.disable()  # generation allocates millions of objects: collector passes would only slow it down
        try:
            self.ws = Workspace(seed, contacts, companies, conversations, parse_clock(clock), tz_offset_hours,
                                tickets, activity_logs)
            self.searcher = Searcher(self.ws)
            self.api = Api(self.ws, self.searcher, scroll_expiry, scroll_page_size)
            # Search pages are most of a sync's answers: their records' JSON is made before serving, not during
            # the first sync (Intercom's own CPU is never what a tap waits for; the emulator's should not be)
            self.api.fragments.warm(self.ws.records("contacts"), self.ws.contact_view)
            self.api.fragments.warm(self.ws.records("conversations"))
        finally:
            gc.enable()
        gc.freeze()  # keep the long-lived workspace out of later collections (no pauses while serving)
        self.limiter = RateLimiter(rate_limit, rate_window)
        self.faults = Faults(fault_rate, fault_kinds, fault_seed)
        self.stats_counter = Stats()
        self.tokens = {token: "all"}
        self.refused_routes = {}  # "GET /conversations/{id}" -> an error kind every call of that route answers
        self.latency_ms, self.slow_seconds = float(latency_ms), float(slow_seconds)
        self._server = self._thread = None
        self.url = None

    # ---- lifecycle ------------------------------------------------------------------------------------
    def start(self):
        emu = self

        class Handler(_Handler):
            emulator = emu

        self._server = _Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self.url = "http://%s:%d" % (self.host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="intercom-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        self.start()
        self._thread.join()

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()

    # ---- Python conveniences (the same operations as the control API) ---------------------------------
    def truth(self, stream=None, plain=False, export_range=None):
        if stream and stream.startswith("report_"):  # the Reporting Data Export's rows: only asked by name, so
            return self.api.reporting.truth().get(stream)  # the whole truth stays the streams every run syncs
        if stream and stream.startswith("message_"):  # the content data export's rows (content_export.py): the
            return self.api.content_export.truth(stream, **(export_range or {}))  # same, by name only
        t = self.ws.truth()
        if plain:  # bodies as GET /conversations/{id}?display_as=plaintext serves them
            t["conversation_parts"] = [dict(p, body=plaintext(p["body"])) for p in t["conversation_parts"]]
        t = apply_truth(self.ws.extras, t)  # with the configured extra fields, as served
        return t[stream] if stream else t

    def stats(self):
        return self.stats_counter.snapshot()

    def reset_stats(self):
        self.stats_counter.reset()

    def mutate(self, **body):
        return self.ws.mutate(body)

    def queue_fault(self, kind, path="", count=1, method=None, after=0, from_after=None):
        self.faults.queue(kind, count, path, method, after, from_after)

    def open_scroll(self):
        return self.api.open_scroll()

    def configure(self, **cfg):
        if "latency_ms" in cfg:
            self.latency_ms = float(cfg["latency_ms"])
        if "gzip" in cfg:
            self.gzip = bool(cfg["gzip"])
        if "clock_headers" in cfg:
            self.clock_headers = bool(cfg["clock_headers"])
        if "slow_seconds" in cfg:
            self.slow_seconds = float(cfg["slow_seconds"])
        if "rate_limit" in cfg:
            self.limiter.limit = int(cfg["rate_limit"])
        if "rate_window" in cfg:
            self.limiter.window = float(cfg["rate_window"])
        if "scroll_expiry" in cfg:
            self.api.scroll_expiry = float(cfg["scroll_expiry"])
        if "scroll_page_size" in cfg:
            self.api.scroll_page_size = int(cfg["scroll_page_size"])
        self.faults.configure(cfg.get("fault_rate"), cfg.get("fault_kinds"), cfg.get("fault_seed"))
        if "extra_fields" in cfg:  # fields Intercom starts sending (extras.py)
            self.ws.extras.configure(cfg["extra_fields"] or {})
        for route, kind in (cfg.get("refused_routes") or {}).items():
            if kind is None:
                self.refused_routes.pop(route, None)
            elif str(kind) in FAULT_ERRORS and str(kind) != "scroll_reset":
                self.refused_routes[route] = str(kind)
            else:
                raise ValueError("a refused route answers one of %s, not %r" % (sorted(FAULT_ERRORS), kind))
        for tok, scopes in (cfg.get("tokens") or {}).items():
            if scopes is None:
                self.tokens.pop(tok, None)
            else:
                self.tokens[tok] = scopes if scopes == "all" else list(scopes)
        return self.config()

    def config(self):
        return {"latency_ms": self.latency_ms, "slow_seconds": self.slow_seconds, "gzip": self.gzip,
                "clock_headers": self.clock_headers,
                "rate_limit": self.limiter.limit, "rate_window": self.limiter.window,
                "scroll_expiry": self.api.scroll_expiry, "scroll_page_size": self.api.scroll_page_size,
                "fault_rate": self.faults.rate, "fault_kinds": list(self.faults.kinds),
                "tokens": dict(self.tokens), "clock": self.ws.clock, "now": self.ws.now(),
                "refused_routes": dict(self.refused_routes),
                "extra_fields": self.ws.extras.config()}

    # ---- control API ----------------------------------------------------------------------------------
    def control(self, method, path, query, body):
        name = path[len("/_emulator/"):]
        if method == "GET" and name == "health":
            return 200, {"ok": True}
        if method == "GET" and name == "truth":
            stream = query.get("stream")
            rows = self.truth(stream, export_range={k: query[k] for k in ("after", "before") if k in query}) \
                if stream and stream.startswith(("report_", "message_")) else None
            if rows is not None:
                return 200, rows
            truth = self.truth(plain=query.get("display_as") == "plaintext")
            if stream and stream not in truth:
                return 404, error_body("not_found", "unknown stream %s" % stream)
            return 200, truth[stream] if stream else truth
        if method == "GET" and name == "stats":
            return 200, self.stats()
        if method == "GET" and name == "reporting":
            return 200, self.api.reporting.state()
        if method == "GET" and name == "content_export":
            return 200, self.api.content_export.state()
        if method == "GET" and name in ("config", "faults"):
            return 200, self.config() if name == "config" else self.faults.pending()
        if method != "POST":
            return 404, error_body("not_found", "unknown control call %s %s" % (method, path))
        body = body if isinstance(body, dict) else {}
        if name == "reset_stats":
            self.reset_stats()
            return 200, {"ok": True}
        if name == "config":
            return 200, self.configure(**body)
        if name == "faults":
            self.queue_fault(body.get("kind"), body.get("path", ""), body.get("count", 1), body.get("method"),
                             body.get("after", 0), body.get("from_after"))
            return 200, {"queued": self.faults.pending()}
        if name == "mutate":
            return 200, self.mutate(**body)
        if name == "open_scroll":
            return 200, {"scroll_param": self.open_scroll()}
        if name == "reporting":  # the Reporting Data Export (reporting.py): format, polls, faults, changes
            return 200, self.api.reporting.configure(body)
        if name == "content_export":  # the content data export (content_export.py): jobs, archives, engagement
            return 200, self.api.content_export.configure(body)
        return 404, error_body("not_found", "unknown control call %s %s" % (method, path))

    # ---- API pipeline ---------------------------------------------------------------------------------
    def api_request(self, h, method, path, query, raw):
        template, scope, fn, params = self.api.match(method, path)
        write = method != "GET" and not (method == "POST" and path in READ_ONLY_POSTS)
        version = h.headers.get("Intercom-Version") or DEFAULT_VERSION
        self.stats_counter.begin("%s %s" % (method, template), version, write)
        status = "dropped"
        try:
            status = self._pipeline(h, method, path, query, raw, version, scope, fn, params, template)
        finally:
            self.stats_counter.end(status)

    def _pipeline(self, h, method, path, query, raw, version, scope, fn, params, template=None):
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)  # per request thread: other requests keep flowing
        fault = self.faults.pick(method, path, raw)
        if fault == "slow":
            time.sleep(self.slow_seconds)
        elif fault in ("lost", "served_504"):
            h.lose_answer = fault  # served in full (a scroll advances), then the answer is lost on the way
        elif fault:
            return self._fault(h, fault)
        auth = h.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        scopes = self.tokens.get(token) if token else None
        if scopes is None:  # no rate-limit headers without valid credentials
            return h.reply(401, error_body("unauthorized", "Access Token Invalid"))
        rl, allowed = self.limiter.hit()
        if self.clock_headers:
            rl["X-RateLimit-Reset"] = str(int(rl["X-RateLimit-Reset"]) + self.ws.now() - int(time.time()))
        if not allowed:
            msg = "Exceeded rate limit of %d in %g_seconds" % (self.limiter.limit, self.limiter.window)
            return h.reply(429, error_body("rate_limit_exceeded", msg), rl)
        refused = self.refused_routes.get("%s %s" % (method, template))
        if refused:  # a route this workspace, plan or version does not serve (or that is broken), for every record
            code, message = FAULT_ERRORS[refused]
            return h.reply(400 if refused == "unavailable" else int(refused), error_body(code, message), rl)
        if version not in VERSIONS:
            return h.reply(400, error_body("intercom_version_invalid",
                                           "The requested version %s could not be found" % version), rl)
        if fn is None:
            if scope is None:
                return h.reply(404, error_body("not_found", "Resource Not Found"), rl)
            return h.reply(405, error_body("method_not_allowed", "The emulator is read-only"), rl)
        if scopes != "all" and scope not in scopes:
            return h.reply(403, error_body(
                "forbidden", "You do not have the required scope (%s) to access this resource" % scope), rl)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return h.reply(400, error_body("parameter_invalid", "The request body is not valid JSON"), rl)
        extra = None  # a handler may add headers (a merged contact's 410 names its canonical contact: Link)
        try:
            status, payload, *extra = fn(_request(method, path, query, body, params, h, version))
        except SearchError as e:  # ApiError is a SearchError too
            status, payload = e.status, error_body(e.code, e.message)
        except Exception as e:  # an emulator bug still gets an Intercom-shaped answer, and a traceback
            traceback.print_exc()
            status, payload = 500, error_body("server_error", "emulator error: %r" % e)
        return h.reply(status, payload, {**rl, **extra[0]} if extra else rl)

    def _fault(self, h, kind):
        if kind == "drop":
            h.close_connection = True  # no response at all: the socket just closes
            return "dropped"
        if kind == "nonjson":
            return h.reply(200, b"<html><body><h1>Service temporarily unavailable</h1></body></html>",
                           ctype="text/html; charset=utf-8")
        if kind == "empty":
            return h.reply(200, b"")
        if kind == "429":
            rl, _ = self.limiter.hit()
            rl["X-RateLimit-Remaining"] = "0"
            return h.reply(429, error_body("rate_limit_exceeded", "Exceeded rate limit"), rl)
        if kind == "429_odd":  # headers a proxy might send: an HTTP-date Retry-After, no rate-limit headers
            retry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
            return h.reply(429, b"Too Many Requests", {"Retry-After": retry.strftime("%a, %d %b %Y %H:%M:%S GMT")},
                           ctype="text/plain")
        if kind == "scroll_reset":
            self.api.close_scroll()
        code, message = FAULT_ERRORS[kind]
        status = {"scroll_reset": 500, "unavailable": 400}.get(kind) or int(kind)
        return h.reply(status, error_body(code, message))


def _request(method, path, query, body, params, h, version):
    host = h.headers.get("Host") or "%s:%d" % h.server.server_address[:2]
    request = Request(method, path, query, body, params, "http://" + host, version)
    request.headers = h.headers  # the export download checks Accept
    return request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "intercom-emulator"
    sys_version = ""
    emulator = None

    def log_message(self, *args):
        pass

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        if self.emulator.clock_headers and timestamp is None:
            return email.utils.formatdate(self.emulator.ws.now(), usegmt=True)
        return super().date_time_string(timestamp)

    lose_answer = None

    def reply(self, status, payload, headers=None, ctype=JSON):
        if self.lose_answer:
            lost, self.lose_answer = self.lose_answer, None
            if lost == "lost":
                self.close_connection = True  # no response at all: the socket just closes
                return "dropped"
            status, payload, headers = 504, error_body("gateway_timeout", "Gateway Timeout"), None
        if isinstance(payload, RawList):
            body = payload.encode()
        else:
            body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        if self.emulator.gzip and "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 256:
            body = gzip.compress(body, compresslevel=1)  # as Intercom does for clients that accept it
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        return status

    def _handle(self, method):
        url = urlsplit(self.path)
        # Clients join a base URL and "/contacts/x/tags" into "//contacts/...": collapse the slashes.
        path = re.sub("/+", "/", url.path).rstrip("/") or "/"
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        emu = self.emulator
        try:
            if path.startswith("/_emulator/"):
                try:
                    body = json.loads(raw) if raw.strip() else {}
                    self.reply(*emu.control(method, path, query, body))
                except (ValueError, TypeError, KeyError, MutationError) as e:
                    self.reply(400, error_body("parameter_invalid", str(e)))
            else:
                emu.api_request(self, method, path, query, raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of clients may connect at once

    def handle_error(self, request, client_address):
        # A client that disconnects mid-request (a killed tap, a dropped-connection fault) is routine here.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)
