"""The response-header parse (transport.parse_headers, installed as http.client's): what it gives equals what the
email package gives for the same lines, whatever the lines."""
import http.client
import io

import pytest

from tap_intercom.http import transport

BLOCKS = [
    b"Content-Type: application/json\r\nX-RateLimit-Remaining: 83\r\nX-RateLimit-Reset: 1700000000\r\n\r\n",
    b"set-cookie: a=1\r\nSet-Cookie: b=2\r\nDate: Sun, 06 Dec 2026 19:04:04 GMT\r\n\r\n",  # repeated, any case
    b"X-Spaces:   padded value  \r\nX-Tab:\tvalue\r\nX-Empty:\r\nX-Colons: a:b:c\r\n\r\n",
    b"Content-Length: 2\nConnection: keep-alive\n\n",  # bare LF line ends
    b"X-Folded: first\r\n  second line\r\nX-After: 1\r\n\r\n",  # a continuation line (obsolete folding)
    b"no colon on this line\r\nX-Next: 1\r\n\r\n",
    b"X-Latin: caf\xe9\r\nX-Utf8: \xe2\x9c\x93\r\n\r\n",
    b"Name With Space: v\r\nX: 1\r\n\r\n",
    b": empty name\r\nX: 1\r\n\r\n",
    b"X-Ends: at eof\r\n",  # the connection closed before the blank line
    b"\r\n",  # no headers at all
]
NAMES = ["content-type", "Content-Type", "X-RATELIMIT-REMAINING", "set-cookie", "x-spaces", "X-Tab", "x-empty",
         "x-colons", "connection", "content-length", "x-folded", "x-after", "x-next", "x-latin", "x-utf8", "x",
         "x-ends", "missing", ""]


def both(block):
    ours = transport.parse_headers(io.BytesIO(block))
    theirs = transport._email_parse_headers(io.BytesIO(block))
    return ours, theirs


@pytest.mark.parametrize("block", BLOCKS)
def test_the_quick_parse_gives_what_the_email_package_gives(block):
    ours, theirs = both(block)
    assert isinstance(ours, http.client.HTTPMessage)
    assert ours.items() == theirs.items() and ours.keys() == theirs.keys() and ours.values() == theirs.values()
    assert str(ours) == str(theirs) and ours.get_payload() == theirs.get_payload()
    for name in NAMES:
        assert ours.get(name) == theirs.get(name) and ours[name] == theirs[name]
        assert ours.get(name, "default") == theirs.get(name, "default")
        assert ours.get_all(name) == theirs.get_all(name) and (name in ours) == (name in theirs)


def test_the_quick_parse_takes_plain_lines_and_leaves_the_rest_to_the_email_package():
    assert type(both(BLOCKS[0])[0]) is transport.Headers
    for block in (BLOCKS[4], BLOCKS[5], BLOCKS[7], BLOCKS[9]):  # folded, no colon, a space in a name, cut short
        assert type(both(block)[0]) is http.client.HTTPMessage


def test_changing_the_headers_keeps_lookups_right():
    ours, theirs = both(BLOCKS[1])
    for message in (ours, theirs):
        message["X-New"] = "1"
        del message["set-cookie"]
        message.replace_header("Date", "later")
    assert ours.items() == theirs.items()
    for name in ("x-new", "set-cookie", "date"):
        assert ours.get(name) == theirs.get(name) and ours.get_all(name) == theirs.get_all(name)


def test_http_client_uses_it():
    assert http.client.parse_headers is transport.parse_headers
