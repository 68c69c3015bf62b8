"""The B side of bench/transport_ab.py: tap_intercom.http.transport's interface on a requests Session per thread.

Same contract as tap_intercom/http/transport.py (`Transport(base_url, timeout).request(method, url, data, headers)
-> (status, headers, content)`, raising socket.timeout, OSError/http.client.HTTPException or ValueError), so
client.py runs unchanged on either.
"""
import socket
import threading

import requests


class Transport:
    def __init__(self, base_url, timeout):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def request(self, method, path, body, headers):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()  # proxies, CA bundle, gzip: requests' own
        try:
            response = session.request(method, self.base_url + path, data=body, headers=headers,
                                       timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise socket.timeout(str(exc)) from exc
        except requests.exceptions.InvalidHeader as exc:
            raise ValueError(str(exc)) from None
        return response.status_code, response.headers, response.content

    def close(self):
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None
