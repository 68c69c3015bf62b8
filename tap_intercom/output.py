"""Singer messages as JSON lines, built once per record and written by one thread; singer's METRIC log lines.

JSON is orjson's when installed (a dependency; several times faster than the standard library both ways),
else the standard library's: the output means the same either way.
"""
import json
import logging
import sys

try:
    import orjson
except ImportError:  # pragma: no cover - the package depends on orjson; this keeps a source checkout working
    orjson = None

LOGGER = logging.getLogger("tap_intercom")
_encode_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def dumps(value):
    """Compact JSON as UTF-8 bytes."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # e.g. an integer beyond 64 bits, which only the standard library writes
            pass
    return _encode_text(value).encode("utf-8")


def loads(data):
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:  # also raised for integers beyond 64 bits: let json decide
            pass
    return json.loads(data)


def schema_message(stream_name, schema, key_properties, bookmark_properties):
    message = {"type": "SCHEMA", "stream": stream_name, "schema": schema, "key_properties": list(key_properties)}
    if bookmark_properties:
        message["bookmark_properties"] = list(bookmark_properties)
    return dumps(message) + b"\n"


def state_message(value):
    return dumps({"type": "STATE", "value": value}) + b"\n"


class RecordLines:
    """Encodes a stream's records as RECORD lines; the message envelope is made once."""

    def __init__(self, stream_name, version=None):  # version: the table version the records belong to
        self._prefix = b'{"type":"RECORD","stream":' + dumps(stream_name) + (
            b',"version":%d' % version if version is not None else b"") + b',"record":'

    def line(self, record, time_extracted):
        return b"".join((self._prefix, dumps(record), b',"time_extracted":"', time_extracted, b'"}\n'))


class Writer:
    """The only writer of stdout, so messages never interleave mid-line."""

    def __init__(self, out=None):
        self._out = out or sys.stdout.buffer

    def write(self, lines):
        self._out.write(b"".join(lines))

    def flush(self):
        self._out.flush()


def log_metric(kind, metric, value, tags):
    """singer-python's METRIC line format (its Timer and Counter reload the logging config on every use)."""
    LOGGER.info("METRIC: %s", json.dumps({"type": kind, "metric": metric, "value": value, "tags": tags}))
