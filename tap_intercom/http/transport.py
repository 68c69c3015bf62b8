"""Keep-alive HTTP/1.1 to one origin: one connection per thread, from the standard library's http.client.

The tap makes thousands of small calls to a single host from a fixed set of long-lived threads. A
connection per thread needs no pool, and http.client alone costs measurably less CPU per call than a
requests Session on top of urllib3's pool (it saves 41-45% of the tap's CPU at 50 ms: bench/transport_ab.py).
requests still supplies what it does best for HTTPS: the proxy settings of the environment (HTTPS_PROXY,
NO_PROXY, ...) and the CA bundle.
"""
import base64
import email.parser
import gzip
import http.client
import os
import re
import ssl
import threading
import zlib
from urllib.parse import unquote, urlsplit

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
# A header line the quick parse takes: printable ASCII name, a colon, the value on that line alone (RFC 9112
# forbids folded values: a continuation line, like anything else, goes to the email package's parser).
_PLAIN_HEADER = re.compile(rb"[!-9;-~]+:[^\r\n]*\r?\n")


class Headers(http.client.HTTPMessage):
    """A response's headers, as http.client's HTTPMessage with its lookups by a dict of lower-cased names.

    http.client parses headers with the email package: per response that cost as much CPU as the rest of the
    call (the tap makes one per page and one per conversation, ticket or long contact list), and each lookup
    (`get`, `getheader`) walks every header again. The values are what the email package gives for the same
    lines (compat32: leading blanks and the line end stripped); mutating it falls back to HTTPMessage's lookups."""

    def __init__(self, pairs=()):
        super().__init__()
        self._headers = list(pairs)
        self._payload = ""  # as the email parser leaves it: the header block has no body
        self._reindex()

    def _reindex(self):
        index = self._index = {}
        for name, value in self._headers:
            index.setdefault(name.lower(), []).append(value)

    def get(self, name, failobj=None):
        values = self._index.get(name.lower())
        return values[0] if values else failobj

    def __getitem__(self, name):
        return self.get(name)

    def get_all(self, name, failobj=None):
        values = self._index.get(name.lower())
        return list(values) if values else failobj

    def __contains__(self, name):
        return name.lower() in self._index

    def __setitem__(self, name, value):
        super().__setitem__(name, value)
        self._reindex()

    def __delitem__(self, name):
        super().__delitem__(name)
        self._reindex()

    def replace_header(self, name, value):
        super().replace_header(name, value)
        self._reindex()

    def add_header(self, name, value, **params):
        super().add_header(name, value, **params)
        self._reindex()

    def set_raw(self, name, value):
        super().set_raw(name, value)
        self._reindex()


_email_parse_headers = http.client.parse_headers


def parse_headers(fp, _class=http.client.HTTPMessage):
    """http.client.parse_headers, quick for plain header lines (each `Name: value`); any other line, or another
    class asked for, goes the email package's way, exactly as before."""
    lines = http.client._read_headers(fp)  # the standard library's own read, with its limits
    if _class is not http.client.HTTPMessage or not all(map(_PLAIN_HEADER.fullmatch, lines[:-1])) or \
            lines[-1] not in (b"\r\n", b"\n"):
        return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
    pairs = []
    for line in lines[:-1]:
        name, _, value = line.decode("iso-8859-1").partition(":")
        pairs.append((name, value.lstrip(" \t").rstrip("\r\n")))
    return Headers(pairs)


http.client.parse_headers = parse_headers  # what HTTPResponse.begin calls, for every response of this process


class Transport:
    def __init__(self, base_url, timeout):
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port or (443 if self.https else 80)
        self.timeout = timeout
        self.context = None
        self.proxy = None
        if self.https or os.environ.keys() & {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}:
            import requests.utils  # environment proxies honour NO_PROXY; requests' CA bundle is certifi's

            proxy = requests.utils.select_proxy(base_url, requests.utils.get_environ_proxies(base_url))
            self.proxy = urlsplit(proxy) if proxy else None
        self.proxy_auth = {}
        if self.proxy is not None and self.proxy.username:
            credentials = f"{unquote(self.proxy.username)}:{unquote(self.proxy.password or '')}"
            self.proxy_auth["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        if self.https:
            from requests.utils import DEFAULT_CA_BUNDLE_PATH

            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH
            self.context = ssl.create_default_context(cafile=bundle)
        self._local = threading.local()

    def _connect(self):
        if self.proxy is None:
            return (http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context)
                    if self.https else http.client.HTTPConnection(self.host, self.port, timeout=self.timeout))
        proxy_port = self.proxy.port or (443 if self.proxy.scheme == "https" else 80)
        if self.https:  # CONNECT through the proxy, then TLS with the API host
            connection = http.client.HTTPSConnection(self.proxy.hostname, proxy_port, timeout=self.timeout,
                                                     context=self.context)
            connection.set_tunnel(self.host, self.port, headers=self.proxy_auth)
            return connection
        return http.client.HTTPConnection(self.proxy.hostname, proxy_port, timeout=self.timeout)

    def request(self, method, path, body, headers, retry_stale=True, sink=None):
        """Send a request; return (status, headers, body). Raises OSError or http.client.HTTPException.
        retry_stale=False: no fresh try when a kept-alive connection breaks (the server may have served it).
        sink: a binary file that receives a 200's body in chunks (an export download), never held in memory."""
        target = self.prefix + path
        if self.proxy is not None and not self.https:  # a plain-http proxy wants the absolute URL
            target = self.origin + target
            headers = {**headers, **self.proxy_auth}
        for attempt in (1, 2):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                if sink is not None and response.status == 200:
                    _copy(response, sink, response.getheader("Content-Encoding") == "gzip")
                    data = b""
                else:
                    data = response.read()
                if data and response.getheader("Content-Encoding") == "gzip":
                    data = _gunzip(data)
            except _STALE:
                self.close()
                if reused and attempt == 1 and retry_stale:  # the server closed the idle connection: one fresh try
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, response.headers, data

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        return connection

    def close(self):
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _gunzip(data):
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt body: retried like a dropped one
        raise http.client.IncompleteRead(b"") from exc


def _copy(response, sink, gzipped):
    """The body into `sink` (emptied first: a retry starts over), decompressed as it streams when gzipped."""
    sink.seek(0)
    sink.truncate()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    while True:
        chunk = response.read(1 << 16)
        if not chunk:
            break
        try:
            sink.write(inflate.decompress(chunk) if inflate else chunk)
        except zlib.error as exc:  # a corrupt body: retried like a dropped one
            raise http.client.IncompleteRead(b"") from exc
    if inflate is not None and not inflate.eof:
        raise http.client.IncompleteRead(b"")
