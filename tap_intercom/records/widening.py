"""New top-level fields: a record carrying a field its stream's schema lacks widens the schema, mid-run.

Intercom adds fields without a new API version (`ai_agent`, `linked_objects` and `topics` came that way), so a
saved catalog goes stale. Rather than drop such a field silently, the tap declares it (its type read from the
value, nullable), writes the stream's SCHEMA again, widened, before the first record carrying it, and warns once
per field. A field the catalog deselects stays out. The check is one `issuperset` of the record's keys against
the declared names, in C; only a record that fails it costs more.

A field declared this run takes its type from its first non-null value (a null says nothing of the type, and
writing nothing loses nothing); a later value of another type widens it, never narrows it: integer and number
give number, any other mix gives string, which holds every value as its text (transform.as_text).

Each stream belongs to one source, read by one producer thread, so its StreamShape is only used there; the
SCHEMA line goes into the same batch as the record, just before it, and the single writer keeps that order.
"""
import copy
import logging

from tap_intercom.records.output import BODY, schema_message
from tap_intercom.records.transform import RecordMismatch, Slow

LOGGER = logging.getLogger("tap_intercom")

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array"}
KEYSETS = 256  # key sets remembered per stream, at most (records with ever new keys are checked each time)
COMPILED = 32  # ... of which with a fast path of their own (transform.RecordTransform.for_keys)
_FITS = {"integer": (int,), "number": (int, float), "boolean": (bool,), "object": (dict,), "array": (list,)}


def json_type(value):
    """The JSON type of a value parsed from JSON (None for null)."""
    return _JSON_TYPES.get(type(value))


def wider(declared, kind):
    """The narrowest type holding values of both types."""
    if declared == kind or declared is None:
        return kind
    return "number" if {declared, kind} == {"integer", "number"} else "string"


def property_schema(kind):
    schema = {"type": ["null", kind]}
    if kind == "array":
        schema["items"] = {}  # any items (singer's Transformer needs the key)
    return schema


def top_level_deselected(metadata):
    """Top-level names the catalog's metadata deselects (whether or not its schema declares them)."""
    return {crumb[1] for crumb, entry in (metadata or {}).items()
            if len(crumb) == 2 and crumb[0] == "properties" and entry.get("inclusion") != "automatic"
            and (entry.get("selected") is False or entry.get("inclusion") == "unsupported")}


class StreamShape:
    """One stream's schema and record transform as the run goes."""

    def __init__(self, selection, transform):
        self.stream = selection.stream
        self.schema = selection.schema
        self.fields = set(selection.fields)
        self.transform = transform
        # every name that is not new: declared (selected or not) or deselected by the catalog
        self.known = frozenset(selection.schema.get("properties") or ()) | top_level_deselected(selection.metadata)
        self.added = {}  # name -> type, the fields declared this run
        self.watch = ()  # (name, types that fit) of those a later value may widen (a string holds any value)
        # A record's keys, as a tuple, -> (whether they are all selected fields (else some are deselected ones), the
        # transform's fast path for them): the one check of a record's keys, made once per set of keys (a stream's
        # records have a few) rather than for each record, here and again in the transform. Only sets without a new
        # field are kept.
        self._keysets = {}
        # Shared with the streams that make the same line body from the same row (share_bodies), else None:
        # id(row) -> (row, its JSON, the widening it was made under), emptied by the engine after each page.
        self.bodies = None
        self.widening = ()  # self.added's items: bodies are shared only between shapes widened alike

    def emit(self, rows, lines, encoder, extracted):
        """Append each row's RECORD line to `lines`, after the widened SCHEMA when the row carries a new field or a
        value a field declared this run cannot hold. Returns the rows' errors: a row that fits no form
        (transform.RecordMismatch) is left out, the others go on."""
        errors = ()
        keysets, line, bodies = self._keysets, encoder.line, self.bodies
        prefix, suffix = encoder.frame(extracted)  # a line framed here: no call of line() a record
        encode, join = BODY if bodies is None else None, b"".join
        for row in rows:
            if bodies is not None:
                made = bodies.get(id(row))
                # made by a twin widened alike: its keys widen this stream no more than they did the twin
                if made is not None and made[0] is row and made[2] == self.widening:
                    lines.append(join((prefix, made[1], suffix)))
                    continue
                warned = self.transform.warnings
            keys = tuple(row)
            known = keysets.get(keys)
            if known is None:
                known = self._learn(row, keys, lines)
                keysets = self._keysets  # a new one when the row widened the schema
            if self.watch and self.mistyped(row):
                lines += self.check(row)
                keysets = self._keysets
            whole, fast = known
            try:
                try:
                    record = fast(row, whole)
                except Slow:  # a value the fast path is unsure of: its warnings are each stream's own
                    lines.append(line(self.transform.slow(row), extracted))
                    continue
            except RecordMismatch as exc:
                errors = [*errors, exc]
                continue
            if encode is not None:
                try:
                    lines.append(join((prefix, encode(record), suffix)))
                except TypeError:  # orjson cannot: the encoder's fallbacks
                    lines.append(line(record, extracted))
            elif bodies is None:
                lines.append(line(record, extracted))
            else:
                made, body = encoder.shareable(record, extracted)
                lines.append(made)
                if body is not None and self.transform.warnings == warned:  # a warning is each stream's own
                    bodies[id(row)] = (row, body, self.widening)
        return errors

    def alike(self, other):
        """Whether the two streams make the same line body from the same row: the same rows and fetches hooks,
        role, known names and transform (transform.RecordTransform.alike)."""
        mine, theirs = self.stream, other.stream
        return (mine.rows is theirs.rows and mine.fetches is theirs.fetches and mine.role == theirs.role
                and self.known == other.known and self.transform.alike(other.transform))

    def _learn(self, row, keys, lines):
        """(whole, fast path) for rows with these keys; the widened SCHEMA first when one of them is new."""
        if not self.known.issuperset(keys):
            lines += self.check(row)
        transform = self.transform
        known = (transform.fields.issuperset(keys),
                 transform.for_keys(keys) if len(self._keysets) < COMPILED else transform.fast)
        if len(self._keysets) < KEYSETS:
            self._keysets[keys] = known
        return known

    def message(self):
        stream = self.stream
        return schema_message(stream.name, self.schema, stream.key,
                              [stream.replication_key] if stream.replication_key else None)

    def mistyped(self, row):
        """Whether a field declared this run holds a value its type cannot (cheap: only those fields)."""
        for name, fits in self.watch:
            value = row.get(name)
            if value is not None and type(value) not in fits:
                return True
        return False

    def check(self, row):
        """The SCHEMA line(s) to write before `row`: none unless it carries a field that is new, or a value of
        a type a field declared this run does not hold."""
        changes = {}
        for name in row.keys() - self.known:
            kind = json_type(row[name])
            if kind is not None:
                changes[name] = kind
        for name, declared in self.added.items():
            value = row.get(name)
            if value is not None and declared != "string" and type(value) not in _FITS[declared]:
                changes[name] = wider(declared, json_type(value))
        return [self._widen(changes)] if changes else []

    def _widen(self, changes):
        schema = copy.deepcopy(self.schema)
        for name, kind in sorted(changes.items()):
            previous = self.added.get(name)
            if previous is None:
                LOGGER.warning("%s: records now carry the field %r (%s), which the stream's schema lacks; it is "
                               "declared and written from here on. To keep it in a saved catalog, run --discover "
                               "again or add it to the stream's schema properties", self.stream.name, name, kind)
            else:
                LOGGER.warning("%s.%s: a value that the type declared this run (%s) cannot hold; the field is "
                               "widened to %s", self.stream.name, name, previous, kind)
            self.added[name] = kind
            schema["properties"][name] = property_schema(kind)
            self.fields.add(name)
        self.schema = schema
        self.known = self.known | changes.keys()
        self.watch = tuple((name, _FITS[kind]) for name, kind in self.added.items() if kind != "string")
        self.transform = self.transform.widened(schema, frozenset(self.fields))
        self._keysets = {}
        self.widening = tuple(self.added.items())
        return self.message()


def share_bodies(shapes):
    """Gives the shapes that make the same line body from the same row (a table and its history stream: users and
    users_history take the same contact, transformed alike) one cache of bodies, so that a row is transformed and
    encoded once and framed once per stream. Returns the caches, which the engine empties after each page.

    A body is reused only
    - for the very row it was made from (the same object: a rows hook returning the record itself, as contact_rows
      does). Between the twins' turns in a page nothing changes the row: they have the same rows and fetches hooks,
      so the same fetch results (record_fetches.py), and a rows hook that changes its record (contact_rows
      completing a contact's lists) changes it the same way for both, while the source's other hooks only read it;
    - when it was made on the fast path without a warning and encoded as it was: a row that needs the slow path,
      nulls a misfit value or needs the encoder's fallbacks goes through each stream, whose warnings are its own;
    - under the same widening. Twins start alike and a row that widens one widens the other the same way, so a row
      whose body was made under this stream's widening needs no key check here either; one made under another
      (the row widened the twin first) is checked and transformed by this stream itself, which writes its own
      widened SCHEMA.
    """
    caches, left = [], list(shapes)
    while left:
        shape = left.pop(0)
        twins = [other for other in left if shape.alike(other)]
        if twins:
            bodies = {}
            for twin in [shape, *twins]:
                twin.bodies = bodies
                if twin is not shape:
                    left.remove(twin)
            caches.append(bodies)
    return caches
