"""A wide record's types checked in C: one msgspec call instead of a Python type check per value.

The transform's fast path (transform._object) checks a contact's ~60 values and ~12 nested objects in Python,
one `type(v) is ...` at a time: about a quarter of the CPU a contact costs. Most of them need no change. Here the
stream's selected fields become a msgspec Struct type that only accepts values the fast path would pass unchanged
(strict: no bool for int, no int for str, no null where the schema has none; nested objects' declared fields
likewise, their undeclared keys ignored); `msgspec.convert(record, that type)` checks a whole record in C and
builds nothing that is kept. A record that passes is copied as it is, and only the fields that always change are
converted, in one C call (_finish.c, built with the package; else the same steps in generated Python): date-times
(epoch seconds to text), numbers sent as integers, typed custom attributes, and the string fields this stream sends
as integers (Intercom's `owner_id`), learned from the records that failed.

Anything the check refuses goes to the transform's own fast path (and from there, as before, to the slow one), so
the output is the same either way: tests/test_checked.py holds them equal on every schema. A schema the check
cannot express exactly (a nested date-time, number or deselected field, anyOf, several types) keeps the Python
path for the records that carry that field. A stream whose records keep failing the check (values of another type
than declared, sent every time) stops checking after a while: it would only add the check's cost.
"""
import itertools
import typing

from tap_intercom.records.timestamps import INLINE_NAMES, INLINE_TEXT, _MS_ABOVE

try:  # the last step in C (_finish.c), built when the package is installed where a C compiler is
    from tap_intercom.records import _finish
except ImportError:  # pragma: no cover - the same steps in generated Python
    _finish = None

msgspec = None  # imported by available(), when a stream first has a wide key set (it costs ~20 ms to import)

WIDE = 16  # records with fewer keys keep the Python path (a link row: the check would cost more than it saves;
# transform.RecordTransform.for_keys asks for a check only from this many)
_NOT_EXACT = object()  # a schema the check cannot express
_OFF_AFTER = 64  # misses (not learning anything) before the check is weighed against its hits
_CUSTOM = {"string": str, "integer": int, "boolean": bool}
_EPOCH = None  # epoch seconds as the fast path formats them inline: 0 <= value < _MS_ABOVE


def available():
    """Whether msgspec is there to check with (a dependency; a source checkout without it keeps the Python path)."""
    global msgspec, _EPOCH
    if msgspec is None:
        try:
            import msgspec as module
        except ImportError:  # pragma: no cover
            return False
        _EPOCH = typing.Annotated[int, module.Meta(ge=0, lt=_MS_ABOVE)]
        msgspec = module
    return True


class Checker:
    """One stream's check: its Struct type, the string fields it has seen sent as integers, and whether checking
    still pays. Shared by the stream's key sets (their generated functions read `names`)."""

    def __init__(self, schemas, metadata, deselected, custom):
        self._schemas = schemas  # selected top-level name -> schema
        self._deselected = deselected  # (metadata, breadcrumb) -> whether the catalog drops that field
        self._custom = custom  # name of a typed custom attributes field, or None
        self.names = {"ValidationError": msgspec.ValidationError, "CHECK": msgspec.convert, **INLINE_NAMES,
                      "ON": True, "TEXTS": (),
                      "CUSTOM_DATES": (), "CUSTOM_NUMBERS": ()}
        # name -> "datetime", "number", "text" (a string), ("custom", its type), or a msgspec type
        self.kinds = {}
        for name, schema in schemas.items():
            self.kinds[name] = self._kind(name, schema, metadata)
        self.texts = set()  # string fields seen as integers
        self.misses = 0
        self.hits = [0]
        self._tags = itertools.count()  # one per key set: the names of its own constants
        self.names["HITS"] = self.hits
        self._build()

    def _kind(self, name, schema, metadata):
        if name == self._custom:
            return self._custom_kind(schema)
        types = schema.get("type", [])
        types = types if isinstance(types, list) else [types]
        kinds = [kind for kind in types if kind != "null"]
        if kinds == ["string"] and schema.get("format") == "date-time" and "anyOf" not in schema:
            return "datetime"
        if kinds == ["number"] and "anyOf" not in schema:
            return "number"
        if kinds == ["string"] and schema.get("format") != "singer.decimal" and "anyOf" not in schema:
            return "text"
        return self._nested(schema, metadata, ("properties", name))

    def _nested(self, schema, metadata, breadcrumb):
        """The msgspec type of the values a nested schema passes unchanged (transform._compile's fast path), or
        _NOT_EXACT."""
        if "anyOf" in schema or "patternProperties" in schema:
            return _NOT_EXACT
        if "type" not in schema:
            return typing.Any
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        kinds = [kind for kind in types if kind != "null"]
        if len(kinds) != 1:
            return _NOT_EXACT
        kind = kinds[0]
        if kind == "string":
            if schema.get("format") in ("date-time", "singer.decimal"):
                return _NOT_EXACT  # a nested date-time is converted: the record changes
            base = str
        elif kind == "integer":
            base = int
        elif kind == "boolean":
            base = bool
        elif kind == "object":
            properties = schema.get("properties") or {}
            fields = []
            for index, (name, sub) in enumerate(properties.items()):
                crumb = breadcrumb + ("properties", name)
                kind = _NOT_EXACT if self._deselected(metadata, crumb) else self._nested(sub, metadata, crumb)
                if kind is _NOT_EXACT:
                    return _NOT_EXACT
                fields.append((f"f{index}", kind, msgspec.field(default=None, name=name)))
            if any(len(crumb) > len(breadcrumb) + 1 and crumb[:len(breadcrumb) + 1] == breadcrumb + ("properties",)
                   and self._deselected(metadata, crumb) for crumb in metadata or ()):
                return _NOT_EXACT  # a deselected nested field is dropped: the record changes
            base = msgspec.defstruct("Nested", fields, gc=False) if fields else dict
        elif kind == "array":
            items = self._nested(schema.get("items") or {}, metadata, breadcrumb + ("items",))
            if items is _NOT_EXACT:
                return _NOT_EXACT
            base = list[items]
        else:  # a number is converted when sent as an integer (msgspec's float takes both)
            return _NOT_EXACT
        return typing.Optional[base] if "null" in types else base

    def _custom_kind(self, schema):
        """Typed custom attributes (custom_attributes.converter): declared ones of their type, dates as epoch
        seconds and numbers as integers converted here; undeclared ones pass as they are."""
        fields, dates, numbers = [], [], []
        for index, (name, sub) in enumerate((schema.get("properties") or {}).items()):
            kinds = [kind for kind in sub.get("type", []) if kind != "null"]
            if sub.get("format") == "date-time":
                kind = _EPOCH
                dates.append(name)
            elif kinds == ["number"]:
                kind = typing.Union[int, float]
                numbers.append(name)
            elif kinds and kinds[0] in _CUSTOM:
                kind = _CUSTOM[kinds[0]]
            else:
                continue  # untyped: passes as it is
            fields.append((f"f{index}", typing.Optional[kind], msgspec.field(default=None, name=name)))
        self.names["CUSTOM_DATES"], self.names["CUSTOM_NUMBERS"] = tuple(dates), tuple(numbers)
        return "custom", typing.Optional[msgspec.defstruct("Custom", fields, gc=False)]

    def _build(self):
        fields = []
        for index, (name, kind) in enumerate(self.kinds.items()):
            nullable = "null" in (self._schemas[name].get("type") or [])
            if type(kind) is tuple:  # ("custom", its type)
                kind = kind[1]
            elif kind == "datetime":
                kind = typing.Optional[_EPOCH] if nullable else _EPOCH
            elif kind == "number":
                kind = typing.Optional[typing.Union[int, float]] if nullable else typing.Union[int, float]
            elif kind == "text":
                kind = typing.Union[str, int] if name in self.texts else str
                kind = typing.Optional[kind] if nullable else kind
            elif kind is _NOT_EXACT:
                kind = typing.Any  # records carrying it are not checked (see keyed)
            fields.append((f"f{index}", kind, msgspec.field(default=None, name=name)))
        self.names["V"] = msgspec.defstruct("Record", fields, gc=False)
        self.names["TEXTS"] = tuple(sorted(self.texts))

    def keyed(self, keys, fields, fallback):
        """The fast path for records with exactly these keys (transform.RecordTransform.for_keys), checked in C;
        `fallback` (the Python fast path for them) when the check cannot apply."""
        if any(self.kinds.get(key) is _NOT_EXACT for key in keys):
            return fallback
        names = self.names
        tag = next(self._tags)
        names[f"MISS{tag}"] = lambda value, whole: self.miss(value, whole, fallback)
        names[f"FALLBACK{tag}"] = fallback
        lines = ["def convert(value, whole=None):",
                 "    if not ON:",
                 f"        return FALLBACK{tag}(value, whole)",
                 "    try:",
                 "        CHECK(value, V)",
                 "    except ValidationError:",
                 f"        return MISS{tag}(value, whole)",
                 "    HITS[0] += 1"]
        drop = tuple(key for key in keys if key not in fields)
        texts = [key for key in keys if self.kinds.get(key) == "text" and key in fields]
        kinds = [(key, self.kinds.get(key) if key in fields else None) for key in keys]
        if _finish is not None:  # the same steps in one call (_finish.c); None: a value to decide the Python way
            names[f"STEPS{tag}"] = (drop, tuple(key for key, kind in kinds if kind == "datetime"),
                                    tuple(key for key, kind in kinds if kind == "number"),
                                    next((key for key, kind in kinds if type(kind) is tuple), None))
            names["FINISH"] = _finish.finish
            lines += [f"    drop, dates, numbers, custom = STEPS{tag}",
                      "    out = FINISH(value, drop, TEXTS, dates, numbers, custom, CUSTOM_DATES, "
                      "CUSTOM_NUMBERS)",
                      "    if out is None:",
                      f"        return FALLBACK{tag}(value, whole)",
                      "    return out"]
            return self._compiled(lines, names)
        lines.append("    out = dict(value)")
        lines += [f"    del out[{key!r}]" for key in drop]
        if texts:
            names[f"TEXT_FIELDS{tag}"] = frozenset(texts)
            lines += ["    for name in TEXTS:",  # the stream's string fields seen as integers, this key set's only
                      f"        if name in TEXT_FIELDS{tag}:",
                      "            v = value[name]",
                      "            if type(v) is int:",
                      "                out[name] = str(v)"]
        for key, kind in kinds:
            if kind == "datetime":
                lines += [f"    v = value[{key!r}]",
                          "    if v is not None:",
                          "        d, r = divmod(v, 86400)",
                          f"        out[{key!r}] = {INLINE_TEXT}"]
            elif kind == "number":
                lines += [f"    v = value[{key!r}]",
                          "    if type(v) is int:",
                          "        if not -9007199254740992 < v < 9007199254740992:",
                          f"            return FALLBACK{tag}(value, whole)",
                          f"        out[{key!r}] = float(v)"]
            elif type(kind) is tuple:  # custom attributes: dates and numbers sent as integers, in a copy
                lines += [f"    c = value[{key!r}]",
                          "    if c is not None:",
                          "        n = None",
                          "        for name in CUSTOM_DATES:",
                          "            v = c.get(name)",
                          "            if v is not None:",
                          "                if n is None: n = dict(c)",
                          "                d, r = divmod(v, 86400)",
                          f"                n[name] = {INLINE_TEXT}",
                          "        for name in CUSTOM_NUMBERS:",
                          "            v = c.get(name)",
                          "            if type(v) is int:",
                          "                if n is None: n = dict(c)",
                          "                n[name] = float(v)",
                          "        if n is not None:",
                          f"            out[{key!r}] = n"]
        lines.append("    return out")
        return self._compiled(lines, names)

    @staticmethod
    def _compiled(lines, names):
        exec("\n".join(lines), names)  # noqa: S102 - source built above from property names via repr()
        convert = names.pop("convert")
        convert.source = "\n".join(lines)
        return convert

    def miss(self, value, whole, fallback):
        """A record the check refused: learn the string fields sent as integers (the check takes them from now
        on); stop checking when refusals teach nothing and outnumber a quarter of the passes."""
        new = {name for name, kind in self.kinds.items()
               if kind == "text" and name not in self.texts and type(value.get(name)) is int}
        if new:
            self.texts |= new
            self._build()
        else:
            self.misses += 1
            if self.misses >= _OFF_AFTER and self.misses * 4 > self.hits[0]:
                self.names["ON"] = False
        return fallback(value, whole)
