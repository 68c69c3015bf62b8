"""Singer messages as JSON lines, built as text once per stream and written by one thread."""
import json
import sys

# ASCII-only output reads the same under any locale a cron job or a target runs with.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False).encode


def schema_message(stream_name, schema, key_properties, bookmark_properties):
    message = {"type": "SCHEMA", "stream": stream_name, "schema": schema, "key_properties": list(key_properties)}
    if bookmark_properties:
        message["bookmark_properties"] = list(bookmark_properties)
    return _encode(message) + "\n"


def state_message(value):
    return _encode({"type": "STATE", "value": value}) + "\n"


class RecordLines:
    """Encodes a stream's records as RECORD lines; the message envelope is text made once."""

    def __init__(self, stream_name):
        self._prefix = '{"type":"RECORD","stream":' + _encode(stream_name) + ',"record":'

    def line(self, record, time_extracted):
        return f'{self._prefix}{_encode(record)},"time_extracted":"{time_extracted}"}}\n'


class Writer:
    """The only writer of stdout, so messages never interleave mid-line."""

    def __init__(self, out=None):
        self._out = out or sys.stdout

    def write(self, lines):
        self._out.write("".join(lines))

    def flush(self):
        self._out.flush()
