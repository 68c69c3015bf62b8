"""Singer messages as JSON lines, built once per record and written by one thread; singer's METRIC log lines.

JSON is orjson's when installed (a dependency; several times faster than the standard library both ways),
else the standard library's: the output means the same either way.
"""
import json
import logging
import os
import re
import sys

try:
    import orjson
except ImportError:  # pragma: no cover - the package depends on orjson; this keeps a source checkout working
    orjson = None

LOGGER = logging.getLogger("tap_intercom")
_encode_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(value):
    """Compact JSON as UTF-8 bytes."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # e.g. an integer beyond 64 bits, which only the standard library writes
            pass
    return _encode_text(value).encode("utf-8")


_dumps = orjson.dumps if orjson is not None else dumps  # a record's body: orjson, or dumps when it cannot
# A record's body where a caller frames it itself (widening.StreamShape.emit): orjson, whose TypeError sends the
# record to RecordLines.line and its fallbacks; None without orjson (line then does it all).
BODY = orjson.dumps if orjson is not None else None


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
        self._stream = stream_name
        self._prefix = b'{"type":"RECORD","stream":' + dumps(stream_name) + (
            b',"version":%d' % version if version is not None else b"") + b',"record":'
        self._warned = set()
        self._extracted = self._suffix = None

    def line(self, record, time_extracted):
        try:
            body = _dumps(record)
        except TypeError:  # orjson cannot (see dumps)
            try:
                body = dumps(record)
            except UnicodeEncodeError:  # a lone surrogate ("\ud83d") in Intercom's JSON: UTF-8 cannot hold it
                body = dumps(self._replace_surrogates(record, ""))
        return self.framed(body, time_extracted)

    def shareable(self, record, time_extracted):
        """(the record's line, its JSON for another stream's line (framed), or None when the encoder's fallbacks,
        which warn per stream, were needed)."""
        try:
            body = _dumps(record)
        except TypeError:
            return self.line(record, time_extracted), None
        return self.framed(body, time_extracted), body

    def framed(self, body, time_extracted):
        """A record's line from its JSON."""
        if time_extracted is not self._extracted:
            self.frame(time_extracted)
        return b"".join((self._prefix, body, self._suffix))

    def frame(self, time_extracted):
        """(what comes before a record's JSON in its line, what comes after it); the end is made once per
        time_extracted."""
        if time_extracted is not self._extracted:
            self._extracted, self._suffix = time_extracted, b',"time_extracted":"' + time_extracted + b'"}\n'
        return self._prefix, self._suffix

    def _replace_surrogates(self, value, path):
        """The value with lone surrogates replaced by U+FFFD, warning once per field."""
        if isinstance(value, dict):  # keys too: custom attribute names are Intercom's text as well
            return {self._replace_surrogates(key, path):
                    self._replace_surrogates(item, f"{path}.{key}" if path else key) for key, item in value.items()}
        if isinstance(value, list):
            return [self._replace_surrogates(item, path) for item in value]
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            if path not in self._warned:
                self._warned.add(path)
                LOGGER.warning("%s.%s: text with an unpaired UTF-16 surrogate, which UTF-8 cannot encode; it is "
                               "replaced by U+FFFD (warned once per field)", self._stream, path)
            return _LONE_SURROGATE.sub("\ufffd", value)
        return value


class Writer:
    """The only writer of stdout, so messages never interleave mid-line.

    It writes to the file descriptor itself, looping over partial writes: Python's buffered stdout can drop
    the rest of a large write that a signal interrupts (seen with SIGTERM and a slow reader), cutting a line."""

    def __init__(self, out=None):
        self._out = out
        if out is None:
            sys.stdout.flush()
            self._fd = sys.stdout.fileno()

    def write(self, lines):
        data = b"".join(lines)
        if self._out is not None:
            self._out.write(data)
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def flush(self):
        if self._out is not None:
            self._out.flush()


def log_metric(kind, metric, value, tags):
    """singer-python's METRIC line format (its Timer and Counter reload the logging config on every use)."""
    LOGGER.info("METRIC: %s", json.dumps({"type": kind, "metric": metric, "value": value, "tags": tags}))
