"""What every route module answers with: Intercom's error, a pre-serialised list, the request, the version gates.

Kept apart from api.py (the routing table) so the route modules (content, newer, reporting, tickets) import it
rather than the table that imports them."""
import json

from .search import SearchError


class RawList:
    """A list response whose items are already JSON: the server writes it without re-serialising them."""

    def __init__(self, envelope, key, fragments):
        self.envelope, self.key, self.fragments = envelope, key, fragments

    def encode(self):
        rest = dict(self.envelope)
        head = json.dumps({"type": rest.pop("type")}, separators=(",", ":"))[:-1]
        tail = json.dumps(rest, separators=(",", ":"))[1:]
        return b"".join([head.encode(), b',"', self.key.encode(), b'":[', b",".join(self.fragments), b"],",
                         tail.encode()])


class ApiError(SearchError):
    """An Intercom error response (status, errors[0].code, errors[0].message)."""

    def __init__(self, status, code, message):
        super().__init__(code, message, status)


class Request:
    def __init__(self, method, path, query, body, params, base_url, version="2.14"):
        self.method, self.path, self.query, self.body = method, path, query, body
        self.params, self.base_url, self.version = params, base_url, version


def before_2_14(version):
    """Versions whose admin `avatar` is an object {image_url} (2.11 schema); 2.14 on serve a URL string."""
    major, _, minor = version.partition(".")
    return major.isdigit() and minor.isdigit() and (int(major), int(minor)) < (2, 14)


def since_2_16(version):
    """Versions that serve GET /conversations/deleted (Unstable and Preview are ahead of every number)."""
    major, _, minor = version.partition(".")
    return not major.isdigit() or (minor.isdigit() and (int(major), int(minor)) >= (2, 16))


def page_number(raw):
    try:
        return max(1, int(raw or 1))
    except ValueError:
        raise ApiError(400, "parameter_invalid", "page must be an integer")
