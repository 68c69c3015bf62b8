"""Records to their schema with singer-python's Transformer semantics, compiled once per schema.

singer's Transformer walks the schema for every value of every record (about 6k records/s here). The
compiled form decides each field's conversion once, so the common case (values already of the schema's
type, epoch-second timestamps) costs a dict build and a few type checks. Any value the fast path is not
sure about sends the whole record through singer's Transformer, so the output is the same either way.
"""
import copy
import datetime

from singer.transform import UNIX_SECONDS_INTEGER_DATETIME_PARSING, SchemaMismatch, Transformer

from tap_intercom.errors import TapError

_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z
_DAYS = {}
_SKIP = object()


class _Slow(Exception):
    """The fast path cannot decide this value; singer's Transformer will."""


class RecordMismatch(TapError):
    pass


def epoch_to_rfc3339(seconds):
    """Epoch seconds to singer's date-time text, e.g. 2024-05-01T09:30:00.000000Z."""
    days, rest = divmod(seconds, 86400)
    day = _DAYS.get(days)
    if day is None:
        day = _DAYS[days] = datetime.date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{day}T{hours:02d}:{minutes:02d}:{secs:02d}.000000Z"


def _slow(_value):
    raise _Slow


def _null_or_slow(nullable):
    def convert(value):
        if value is None and nullable:
            return None
        raise _Slow
    return convert


def _datetime(nullable):
    def convert(value):
        if type(value) is int and 0 <= value <= _MAX_EPOCH:
            return epoch_to_rfc3339(value)
        if nullable and (value is None or value == ""):
            return None
        raise _Slow
    return convert


def _exact(kind, nullable):
    """Values already of the JSON type pass unchanged; anything else goes the slow way."""
    def convert(value):
        if type(value) is kind:
            return value
        if value is None and nullable:
            return None
        raise _Slow
    return convert


def _number(nullable):
    def convert(value):
        kind = type(value)
        if kind is float:
            return value
        if kind is int and -2 ** 53 < value < 2 ** 53:
            return float(value)
        if value is None and nullable:
            return None
        raise _Slow
    return convert


def _boolean(value):
    # singer tries "boolean" before "null", and bool(None) is False: a null boolean comes out false.
    if type(value) is bool:
        return value
    if value is None:
        return False
    raise _Slow


def _object(fields, nullable):
    """Keep only the schema's properties, converting each; unknown keys are dropped, as singer does."""
    def convert(value):
        if type(value) is dict:
            out = {}
            for key, item in value.items():
                field = fields.get(key, _SKIP)
                if field is _SKIP:
                    continue
                out[key] = item if field is None else field(item)
            return out
        if value is None and nullable:
            return None
        raise _Slow
    return convert


def _array(item_convert, nullable):
    def convert(value):
        if type(value) is list:
            return list(value) if item_convert is None else [item_convert(item) for item in value]
        if value is None and nullable:
            return None
        raise _Slow
    return convert


def _compile(schema):
    """A converter for values of `schema`, or None when values pass untouched (no type information)."""
    if "anyOf" in schema or "patternProperties" in schema:
        return _slow
    if "type" not in schema:
        return None
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    nullable = "null" in types
    kinds = [kind for kind in types if kind != "null"]
    if len(kinds) != 1:
        return _null_or_slow(nullable) if not kinds else _slow
    kind = kinds[0]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return _datetime(nullable)
        return _slow if fmt == "singer.decimal" else _exact(str, nullable)
    if kind == "integer":
        return _exact(int, nullable)
    if kind == "number":
        return _number(nullable)
    if kind == "boolean":
        return _boolean
    if kind == "object":
        properties = schema.get("properties") or {}
        if not properties:
            return _exact(dict, nullable)
        return _object({name: _compile(sub) for name, sub in properties.items()}, nullable)
    if kind == "array":
        return _array(_compile(schema.get("items") or {}), nullable)
    return _slow


class RecordTransform:
    """Transforms one stream's records: selected fields only, epoch seconds to RFC 3339, values to schema."""

    def __init__(self, stream_name, schema, selected_fields, metadata_map):
        self.stream_name = stream_name
        properties = schema.get("properties") or {}
        fields = {name: _compile(sub) for name, sub in properties.items() if name in selected_fields}
        self._fast = _object(fields, nullable=False)
        self._schema = copy.deepcopy(schema)  # singer's Transformer reorders "type" lists in place
        self._metadata = metadata_map

    def __call__(self, record):
        try:
            return self._fast(record)
        except _Slow:
            return self.slow(record)

    def slow(self, record):
        transformer = Transformer(UNIX_SECONDS_INTEGER_DATETIME_PARSING)
        try:
            return transformer.transform(copy.deepcopy(record), self._schema, self._metadata)
        except SchemaMismatch:
            paths = ", ".join(sorted({".".join(map(str, error.path)) for error in transformer.errors}))
            raise RecordMismatch(f"{self.stream_name} record {record.get('id')!r} does not match the stream's "
                                 f"schema at: {paths}") from None
