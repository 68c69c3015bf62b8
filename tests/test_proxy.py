"""HTTPS through an HTTPS_PROXY: a local CONNECT proxy in front of a local TLS endpoint of the emulator."""
import base64
import select
import socket
import socketserver
import ssl
import subprocess
import threading

import pytest

from conftest import run_tap, tap_config


def relay(a, b):
    """Copy bytes both ways until either side closes."""
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.seen = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


def connect_proxy():
    """An HTTP proxy that only tunnels (CONNECT), recording each request head."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
            self.server.seen.append(lines)
            method, target, _ = lines[0].split(" ", 2)
            if method != "CONNECT":
                self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            relay(self.request, upstream)
    return Server(Handler)


def tls_front(context, backend_port):
    """TLS on the outside, the emulator's plain HTTP inside (Intercom is HTTPS-only; the emulator is not)."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                outside = context.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            relay(outside, socket.create_connection(("127.0.0.1", backend_port)))
    return Server(Handler)


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                           "-keyout", str(key), "-out", str(cert)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here")
    return cert, key


def test_https_through_https_proxy_with_credentials(tmp_path, emulator, certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    front = tls_front(context, int(emulator.url.rsplit(":", 1)[1]))
    proxy = connect_proxy()
    url = f"http://tap:s%40cret@127.0.0.1:{proxy.port}"  # the lower-case name wins when both are set
    env = {"HTTPS_PROXY": url, "https_proxy": url, "NO_PROXY": "", "no_proxy": "", "REQUESTS_CA_BUNDLE": str(cert)}
    # 16 workers at most: threads, not requests, make tunnels (without it, rate x latency sets how many)
    config = tap_config(f"https://localhost:{front.port}", max_workers=16)
    run = run_tap(tmp_path, config, env=env)
    truth = emulator.truth()
    for stream in ("users", "contacts", "companies", "conversations", "tags"):
        assert len(run.records(stream)) == len(truth[stream]), stream
    assert proxy.seen, "nothing went through the proxy"
    credentials = base64.b64encode(b"tap:s@cret").decode()
    for lines in proxy.seen:
        assert lines[0].startswith(f"CONNECT localhost:{front.port} HTTP/")
        assert f"Proxy-Authorization: Basic {credentials}" in lines[1:]
    assert len(proxy.seen) <= 50  # a kept-alive tunnel per thread (16 workers, a reader per source), not per request
    assert emulator.stats()["requests"] > len(proxy.seen)
    front.shutdown()
    proxy.shutdown()
