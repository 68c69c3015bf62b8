"""Records to their schema, compiled once per schema, losing nothing Intercom sends.

singer's Transformer walks the schema for every value of every record (about 6k records/s here). The
compiled form decides each field's conversion once, so the common case (values already of the schema's
type, epoch-second timestamps) costs a dict copy and a few type checks. Any value the fast path is not
sure about sends the whole record through singer's Transformer, adapted (`_lossless_transformer`) so the
output is the same either way:
- inside a declared object, keys the schema does not declare are kept as Intercom sent them, at every depth
  and inside arrays (singer drops them); top-level fields are the selected ones (widening.py declares new ones);
- a value of another type than declared is converted when that loses nothing: a number, boolean, object or
  list where a string is declared becomes its text (JSON text for booleans, objects and lists); a date-time
  sent as epoch seconds, epoch milliseconds (values above 1e11: as seconds that is the year 5138, as
  milliseconds March 1973), a numeric string of either, or ISO 8601 text becomes singer's date-time text;
  an integer sent as an integral float or numeric string becomes the integer (singer would truncate 1.5)
  (timestamps.py holds the time formats).
  Only a value that cannot be converted is written as null (with one warning per field).
- a null boolean is written as null, as sent (singer writes false): the one place the output differs from
  singer's Transformer on values of the declared types.
"""
import copy
import itertools
import json
import logging

from tap_intercom.errors import TapError
from tap_intercom.records import checked, custom_attributes
from tap_intercom.records.timestamps import INLINE_NAMES, INLINE_TEXT, _MS_ABOVE, datetime_text, epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")
_chain = itertools.chain.from_iterable
_SKIP = object()
_text_of = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class Slow(Exception):
    """The fast path cannot decide this value; singer's Transformer will."""


class RecordMismatch(TapError):
    pass


def as_text(value):
    """A value where a string is declared, as text without loss: numbers as Python writes them (as JSON
    does), booleans, objects and lists as compact JSON text."""
    kind = type(value)
    if kind is str:
        return value
    if kind in (int, float):
        return str(value)
    return _text_of(value)


def _slow(_value):
    raise Slow


def _null_or_slow(nullable):
    def convert(value):
        if value is None and nullable:
            return None
        raise Slow
    return convert


def _datetime(nullable):
    def convert(value):
        if type(value) is int and 0 <= value < _MS_ABOVE:
            return epoch_to_rfc3339(value)
        if value is None or value == "":
            if nullable:
                return None
            raise Slow
        text = datetime_text(value)
        if text is None:
            raise Slow
        return text
    convert.passes_null = nullable
    return convert


def _exact(kind, nullable):
    """Values already of the JSON type pass unchanged; anything else goes the slow way."""
    def convert(value):
        if type(value) is kind:
            return value
        if value is None and nullable:
            return None
        raise Slow
    convert.passes_null = nullable
    return convert


def _string(nullable):
    # any value but None has a text: ids sent as numbers become the schema's strings
    def convert(value):
        if type(value) is str:
            return value
        if value is None:
            if nullable:
                return None
            raise Slow
        return as_text(value)
    convert.passes_null = nullable
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
        raise Slow
    convert.passes_null = nullable
    return convert


def _boolean(nullable):
    # Written as sent: a null boolean stays null. (singer's Transformer tries "boolean" before "null", and
    # bool(None) is False, so it writes false: "not set" would read as "no". The one place we differ from it.)
    return _exact(bool, nullable)


_PASSES = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict}


def _object(fields, nullable, keep=False, dropped=(), keys=None):
    """An object converter, generated as straight-line Python, one block per property: a value already of
    the property's JSON type costs one type check, so a 50-field contact costs ~50 dict lookups.

    `keep`: the object keeps the keys its schema does not declare, as sent (every nested object), less the
    `dropped` ones (deselected); else it holds only the declared `fields` (the record's top level, whose new
    fields widening.py declares before they arrive here).

    Most values are already of their field's type, so the output starts as the input (a copy of it at the top
    level) and only what must change is replaced: a nested object is copied only when one of its values changes,
    else passed on as it is (nothing downstream changes a record once transformed).

    `keys` (the top level only): a converter for records with exactly these keys, in this order (a stream's records
    have a few such sets: widening.StreamShape keeps one converter each): their values are unpacked at once rather
    than got one by one, and the fields they lack cost nothing.
    """
    names = {"_SKIP": _SKIP, "Slow": Slow, "NULLABLE": nullable, "_MS_ABOVE": _MS_ABOVE, **INLINE_NAMES}
    top = not keep  # the record's top level: `whole` says whether its keys are all selected fields (the caller
    # knows it from a key-set cache, widening.StreamShape); None: check here
    lines = ["def convert(value, whole=None):" if top else "def convert(value):",
             "    if type(value) is not dict:",
             "        if value is None and NULLABLE:",
             "            return None",
             "        raise Slow"]
    shared = keep and not dropped  # the output is the input itself until a value must change (copy on write)
    if shared:
        lines.append("    out = value")
    elif keep:
        lines.append("    out = dict(value)")
        lines += [f"    out.pop({name!r}, None)" for name in dropped]
    else:
        names["FIELDS"] = frozenset(fields)
        lines += ["    if whole is None:",
                  "        whole = FIELDS.issuperset(value)",
                  "    out = dict(value) if whole else {k: v for k, v in value.items() if k in FIELDS}"]
    if keys is None:
        lines.append("    get = value.get")
    else:
        position = {key: index for index, key in enumerate(keys)}
        lines.append(f"    {', '.join(f'V{index}' for index in range(len(keys)))}, = value.values()" if keys else
                     "    pass")

    def put(indent, name, expression):  # out[name] = expression, copying the input first when shared
        if not shared:
            return [f"{indent}out[{name!r}] = {expression}"]
        return [f"{indent}if out is value: out = dict(value)", f"{indent}out[{name!r}] = {expression}"]

    for index, (name, (kind, convert)) in enumerate(fields.items()):
        names[f"C{index}"] = convert
        if convert is None:
            continue  # untyped: kept as it is
        # A converter that passes null unchanged is not called for one (nor for an absent field: get's None):
        # most of a contact's fields are null (the android_*, ios_*, utm_* ones).
        passes_null = getattr(convert, "passes_null", False)
        absent = "None" if passes_null else "_SKIP"
        if keys is not None:
            if name not in position:
                continue  # absent: as get's None or _SKIP below, nothing to do
            lines.append(f"    v = V{position[name]}")
        else:
            lines.append(f"    v = get({name!r})" if passes_null else f"    v = get({name!r}, _SKIP)")
        if kind == "datetime":  # epoch seconds inline; anything else through the converter
            lines += [f"    if v is not {absent}:",
                      "        if type(v) is int and 0 <= v < _MS_ABOVE:",
                      "            d, r = divmod(v, 86400)"]
            lines += put("            ", name, INLINE_TEXT)
            lines.append("        else:")
            lines += put("            ", name, f"C{index}(v)")
        elif kind is not None:
            lines.append(f"    if type(v) is not {kind} and v is not {absent}:")
            lines += put("        ", name, f"C{index}(v)")
        else:  # an empty list is returned as it is by any list's converter: not called for one (a contact's
            # notes, companies, subscription types are often empty)
            empty = " and (type(v) is not list or v)" if getattr(convert, "is_array", False) else ""
            lines += [f"    if v is not {absent}{empty}:", f"        w = C{index}(v)", "        if w is not v:"]
            lines += put("            ", name, "w")
    lines.append("    return out")
    exec("\n".join(lines), names)  # noqa: S102 - source built above from property names via repr()
    convert = names["convert"]
    convert.passes_null = nullable
    convert.source = "\n".join(lines)  # what was compiled, for a reader of a profile
    # Every declared field of one plain type (items of a list: {type, id, url}): an object whose values are all
    # of that type (or null, where that passes) is unchanged, which _array checks for a whole list at once.
    passes = {(kind, getattr(c, "passes_null", False)) for kind, c in fields.values()}
    if shared and len(passes) == 1 and not any(c is None for _, c in fields.values()):
        (kind, passes_null), = passes
        if kind in _PASSES:
            convert.uniform = frozenset({_PASSES[kind]} | ({type(None)} if passes_null else set()))
    return convert


def _array(item_convert, nullable):
    uniform = getattr(item_convert, "uniform", None)  # items are objects whose values all pass when of these types

    def convert(value):
        if type(value) is list:
            if item_convert is None or not value:
                return value
            if uniform is not None:  # one check of every item's values, in C (a non-object item: TypeError)
                try:
                    if uniform.issuperset(map(type, _chain(map(dict.values, value)))):
                        return value
                except TypeError:
                    pass
            return [item_convert(item) for item in value]
        if value is None and nullable:
            return None
        raise Slow
    convert.passes_null = nullable
    convert.is_array = True
    return convert


def _compile(schema, metadata=None, breadcrumb=()):
    """(kind, converter) for values of `schema`: `kind` names the Python type that passes unchanged (None
    when every value goes through the converter); converter None means values pass untouched. Nested fields
    deselected in `metadata` are dropped, as singer's Transformer drops them on the slow path."""
    if "anyOf" in schema or "patternProperties" in schema:
        return None, _slow
    if "type" not in schema:
        return None, None
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    nullable = "null" in types
    kinds = [kind for kind in types if kind != "null"]
    if len(kinds) != 1:
        return None, (_null_or_slow(nullable) if not kinds else _slow)
    kind = kinds[0]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return "datetime", _datetime(nullable)
        return (None, _slow) if fmt == "singer.decimal" else ("str", _string(nullable))
    if kind == "integer":
        return "int", _exact(int, nullable)
    if kind == "number":
        return "float", _number(nullable)
    if kind == "boolean":
        return "bool", _boolean(nullable)
    if kind == "object":
        properties = schema.get("properties") or {}
        dropped = [crumb[-1] for crumb in metadata or () if len(crumb) == len(breadcrumb) + 2
                   and crumb[:len(breadcrumb) + 1] == breadcrumb + ("properties",) and _deselected(metadata, crumb)]
        if not properties and not dropped:
            return "dict", _exact(dict, nullable)
        return None, _object({name: _compile(sub, metadata, breadcrumb + ("properties", name))
                              for name, sub in properties.items()
                              if not _deselected(metadata, breadcrumb + ("properties", name))}, nullable,
                             keep=True, dropped=dropped)
    if kind == "array":
        return None, _array(_compile(schema.get("items") or {}, metadata, breadcrumb + ("items",))[1], nullable)
    return None, _slow


def _deselected(metadata, breadcrumb):
    """singer's rule: `selected: false` or `inclusion: unsupported` drops a field, unless it is automatic."""
    entry = (metadata or {}).get(breadcrumb) or {}
    return entry.get("inclusion") != "automatic" and (entry.get("selected") is False
                                                        or entry.get("inclusion") == "unsupported")


def _nested_deselected(metadata):
    """The breadcrumbs of nested fields the metadata drops (top-level ones are in the selected fields)."""
    return frozenset(crumb for crumb in metadata or () if len(crumb) > 2 and _deselected(metadata, crumb))


def _lossless_transformer():
    """singer's Transformer class, adapted as the module's docstring says (imported late: singer, with
    jsonschema, costs a tenth of a second to import and is rarely needed)."""
    global _LOSSLESS
    if _LOSSLESS is not None:
        return _LOSSLESS
    from singer.transform import UNIX_SECONDS_INTEGER_DATETIME_PARSING, Transformer

    class Lossless(Transformer):
        def __init__(self):
            super().__init__(UNIX_SECONDS_INTEGER_DATETIME_PARSING)

        def _transform_object(self, data, schema, path, pattern_properties):
            success, result = super()._transform_object(data, schema, path, pattern_properties)
            if path and type(data) is dict and result is not data:  # nested: undeclared keys stay, as sent
                for key, value in data.items():
                    if key not in result:
                        result[key] = value
            return success, result

        def _transform(self, data, typ, schema, path):
            if typ == "string" and schema.get("format") == "date-time":
                text = datetime_text(data) if data is not None and data != "" else None
                return text is not None, text
            if typ == "string" and schema.get("format") != "singer.decimal":
                return data is not None, None if data is None else as_text(data)
            if typ == "integer" and type(data) is float and not data.is_integer():
                return False, None  # singer would truncate it
            if typ in ("integer", "number") and type(data) is bool:
                return False, None  # singer would count it as 1 or 0
            if typ == "boolean" and data is None:
                return False, None  # not false: "null" (when declared) takes it, as sent (see _boolean)
            if typ == "boolean" and type(data) is not bool:
                # singer's bool(): any other text or number is true. Only what says which is converted.
                known = {"true": True, "false": False}.get(data.lower()) if type(data) is str else \
                    {0: False, 1: True}.get(data) if type(data) is int else None
                return known is not None, known
            return super()._transform(data, typ, schema, path)

    _LOSSLESS = Lossless
    return Lossless


_LOSSLESS = None


class RecordTransform:
    """Transforms one stream's records: selected fields only, epoch seconds to RFC 3339, values to schema."""

    def __init__(self, stream_name, schema, selected_fields, metadata_map, warned=None):
        self.stream_name = stream_name
        properties = schema.get("properties") or {}
        fields = {name: _compile(sub, metadata_map, ("properties", name)) for name, sub in properties.items()
                  if name in selected_fields}
        self._schema = copy.deepcopy(schema)  # singer's Transformer reorders "type" lists in place
        self._custom = None
        custom = properties.get(custom_attributes.FIELD)
        if custom_attributes.FIELD in fields and custom_attributes.is_typed(custom):
            self._custom = custom_attributes.converter(custom, self._misfit)
            fields[custom_attributes.FIELD] = (None, self._custom)
            self._schema["properties"][custom_attributes.FIELD] = {"type": ["null", "object"]}  # done beforehand
        self._fields = fields
        self._fast = _object(fields, nullable=False)
        self._checker = None
        self._schemas = {name: properties[name] for name in fields}
        self.fields = frozenset(fields)  # the top-level fields a record keeps
        self._metadata = metadata_map
        self._warned = set() if warned is None else warned  # shared by the transforms of a widened stream

    def widened(self, schema, selected_fields):
        """This stream's transform for its schema widened by new fields (widening.py)."""
        return RecordTransform(self.stream_name, schema, selected_fields, self._metadata, self._warned)

    @property
    def warnings(self):
        """How many fields this stream warned of (each once)."""
        return len(self._warned)

    def alike(self, other):
        """Whether the two give the same record for any record on the fast path: the same schema, selected fields and
        deselected nested fields (a table and its history stream, whose key properties differ)."""
        return (self.fields == other.fields and self._schema == other._schema
                and _nested_deselected(self._metadata) == _nested_deselected(other._metadata))

    @property
    def fast(self):
        """The fast path for any record: fast(record, whole) raises Slow when slow() must decide."""
        return self._fast

    def for_keys(self, keys):
        """The fast path for records with exactly these keys, in this order (see _object): fast(record, whole).
        A wide record's values are checked in C first (checked.py)."""
        keyed = _object(self._fields, nullable=False, keys=keys)
        if len(keys) < checked.WIDE or not checked.available():
            return keyed
        if self._checker is None:
            self._checker = checked.Checker(self._schemas, self._metadata, _deselected,
                                            custom_attributes.FIELD if self._custom is not None else None)
        return self._checker.keyed(keys, self.fields, keyed)

    def __call__(self, record, whole=None):
        """The record in its schema's form; `whole`: whether every key of it is a selected field (None: unknown)."""
        try:
            return self._fast(record, whole)
        except Slow:
            return self.slow(record)

    def slow(self, record):
        """singer's Transformer (adapted), for values the fast path is unsure of. A value that fits no type of
        its field is emitted as null with a warning (once per field): the value itself when its field is
        nullable, else its nearest nullable parent, rather than failing the sync or nulling more than needed."""
        from singer.transform import SchemaMismatch

        lossless = _lossless_transformer()

        if self._custom is not None and "custom_attributes" in record:
            record = {**record, "custom_attributes": self._custom(record["custom_attributes"])}
        for attempt in range(4):
            transformer = lossless()
            try:
                return transformer.transform(copy.deepcopy(record), self._schema, self._metadata)
            except SchemaMismatch:
                every = [list(error.path) for error in transformer.errors]
                # an object whose child fails is reported too: only the innermost paths are the misfits
                paths = [path for path in every if not any(len(other) > len(path) and other[:len(path)] == path
                                                           for other in every)]
                nulled = [self._nullable_at(path) for path in paths] if attempt < 3 and all(paths) else [None]
                if None in nulled:
                    where = ", ".join(sorted({".".join(map(str, path)) for path in paths}))
                    raise RecordMismatch(f"{self.stream_name} record {record.get('id')!r} does not match the "
                                         f"stream's schema at: {where or '(top level)'}") from None
                record = copy.deepcopy(record)
                for path in nulled:
                    _set_null(record, path)
                    name = ".".join(str(step) for step in path if isinstance(step, str))
                    if name not in self._warned:
                        self._warned.add(name)
                        LOGGER.warning("%s.%s: a value does not fit the field's schema (first in record %r); such "
                                       "values are emitted as null", self.stream_name, name, record.get("id"))

    def _misfit(self, attribute, value):
        name = "custom_attributes" + (f".{attribute}" if attribute is not None else "")
        if name not in self._warned:
            self._warned.add(name)
            LOGGER.warning("%s.%s: a value does not fit its declared type (%s); such values are emitted as null",
                           self.stream_name, name, type(value).__name__)

    def _nullable_at(self, path):
        """The longest prefix of `path` whose schema allows null (None: none does, or the path is unknown)."""
        schema, found = self._schema, None
        for depth, step in enumerate(path, 1):
            schema = (schema.get("properties") or {}).get(step) if isinstance(step, str) else schema.get("items")
            if not isinstance(schema, dict):
                break
            kinds = schema.get("type", [])
            if "null" in (kinds if isinstance(kinds, list) else [kinds]):
                found = path[:depth]
        return found


def _set_null(record, path):
    container = record
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = None
