"""A report stream's columns: what each column is typed (text unless Intercom says otherwise), what keys a row,
the header of each export file matched to the requested attributes, and each cell converted exactly.

The API documents no column types and the files are text (API-NOTES section 11): custom attributes come under
their display names and hold whatever the workspace stores (an "Account Number" may be `077109` or `AC-814`).
So a column is text unless it is one of Intercom's own attributes (a snake_case id, not under a display name)
whose documented meaning is a time or a duration/count; and a number column is a number only while each of its
cells prints back to the same text (`77109` does, `077109`, `1e5` and `12.50` do not).
"""
import datetime
import json
import logging
import re

from tap_intercom.errors import ExportError
from tap_intercom.records.output import schema_message
from tap_intercom.records.timestamps import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")
HASH_KEY = "_row_hash"  # the last resort key: a dataset with no time and no id column (no known dataset)
TEXT = {"type": ["null", "string"]}
TIME = {"type": ["null", "string"], "format": "date-time"}
NUMBER = {"type": ["null", "number"]}
_OWN_ID = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")  # Intercom's own attribute ids are snake_case
_LOCAL_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?$")
_INT = re.compile(r"-?(?:0|[1-9]\d*)$")


# ---- what a column is -------------------------------------------------------------------------------------

def own_name(name):
    """A snake_case name, as Intercom's own attribute ids (and the `*_raw_id` columns beside names) are."""
    return bool(_OWN_ID.match(name))


def is_own(attribute, header_cell=None):
    """Intercom's own attribute: a snake_case id whose qualified id (2.16) names it by that id, and which the
    file heads by that id (a custom attribute comes under its display name)."""
    ident = str(attribute.get("id") or "")
    qualified = str(attribute.get("qualified_id") or "")
    if not _OWN_ID.match(ident) or (qualified and qualified.rpartition(".")[2] != ident):
        return False
    return header_cell is None or header_cell == ident


def kind_by_name(attribute, time_attribute, header_cell=None):
    """"time", "number" or "text" from what Intercom says of the attribute: the dataset's default time attribute,
    `timestamp.` ids and own ids ending `_at` are times; `duration.` ids and own ids whose words say a duration or
    a count (`time_to_*`, `*_seconds`, `count`, `number_of`) are numbers; everything else (custom attributes
    whatever their name, `*_id` columns that hold names, ratings, states) is text."""
    ident = str(attribute.get("id") or "")
    qualified = str(attribute.get("qualified_id") or "")
    if not is_own(attribute, header_cell):
        return "time" if ident and ident == time_attribute and header_cell in (None, ident) else "text"
    words = ident.split("_")
    pairs = set(zip(words, words[1:]))
    if ident == time_attribute or qualified.startswith("timestamp.") or words[-1] == "at":
        return "time"
    if qualified.startswith("duration.") or ("time", "to") in pairs or words[-1] == "seconds" \
            or "count" in words or ("number", "of") in pairs:
        return "number"
    return "text"


def schema_of(kind):
    return dict({"time": TIME, "number": NUMBER}.get(kind, TEXT))


def number(text):
    """The number a cell holds when it prints back to the same text (int, or float whose repr is the text);
    ValueError otherwise: `077109`, `+5`, `1e5`, `12.50`, `1_000`, `nan` keep their text."""
    if _INT.match(text):
        value = int(text)
        if str(value) == text:
            return value
    elif "_" not in text:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is not None and value - value == 0 and repr(value) == text:  # finite: no nan, no inf
            return value
    raise ValueError(text)


class CellCheck:
    """Whether every non-empty cell of a column seen so far holds its kind exactly (discovery's sample)."""

    def __init__(self):
        self.cells, self.numbers, self.times, self.example = 0, True, True, None

    def see(self, cell, to_utc):
        if cell == "":
            return
        self.cells += 1
        if self.numbers:
            try:
                number(cell)
            except ValueError:
                self.numbers, self.example = False, cell
        if self.times:
            try:
                to_utc(cell)
            except (ValueError, OverflowError):
                self.times = False


# ---- what keys a row --------------------------------------------------------------------------------------

def key_of(dataset_id, columns, time_column):
    """(key columns, rule) of a dataset from its columns [(name, own)]: rule "entity" (one row per conversation,
    ticket, call: its id), "log" (several rows per entity: the entity ids and the row's own start time, the
    dataset's default time attribute), "interval" (no entity id fits: the start time and the ids that never
    change once written), or "row" (nothing identifies a row: a hash of it; no known dataset). A `*_id` column
    holding a name gives way to its `*_raw_id` twin when the file has one."""
    names = {name for name, _ in columns}
    own = {name for name, is_own_column in columns if is_own_column}

    def raw(name):
        twin = name[:-len("_id")] + "_raw_id"
        return twin if twin in names else name

    words = [w for w in dataset_id.split("_") if w]
    if words and words[-1].endswith("s") and len(words[-1]) > 1:  # `tickets`: one row per ticket
        words = words[:-1] + [words[-1][:-1]]
    entity = "_".join(words) + "_id"
    if entity in own:
        return (raw(entity),), "entity"
    runs = {"_".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    found = [run for run in runs if run + "_id" in own]
    longest = max((len(run.split("_")) for run in found), default=0)
    ids = sorted(raw(run + "_id") for run in found if len(run.split("_")) == longest)
    # The default time attribute starts the row only when it is not the time of an entity the row belongs to
    # (ticket_time_in_state's `ticket_created_at` is the ticket's, shared by its states' rows).
    entity_time = time_column and any(re.fullmatch(rf"{re.escape(run)}_(created|started)_at", time_column)
                                      for run in found)
    if ids and time_column and not entity_time:
        return tuple(ids) + (time_column,), "log"
    fixed = sorted({raw(name) for name in own if name.endswith("_id") and not name.endswith("_raw_id")
                    and not name.startswith("currently_")}  # `currently_*`: the present assignee, it changes
                   | {name for name in names if name.endswith("_raw_id") and not name.startswith("currently_")})
    start = (time_column,) if time_column and not entity_time else ()
    if start or fixed:
        return start + tuple(fixed), "interval"
    return (HASH_KEY,), "row"


# ---- a file's header --------------------------------------------------------------------------------------

def match_header(header, attributes):
    """The column of each header cell [(column, attribute or None)]: a cell names the first unused requested
    attribute whose id, qualified id or display name it is (headers are plain ids even when qualified ids were
    requested; custom attributes come under display names; two attributes of one name come in the order asked);
    another cell (a `*_raw_id` beside a name) is its own column, a repeated one `<cell>__2`, `__3`..."""
    unused = list(attributes)
    out, seen = [], {name for name, _ in attributes}
    for cell in header:
        match = next((pair for pair in unused if cell in (pair[1].get("id"), pair[1].get("qualified_id"),
                                                            pair[1].get("name"))), None)
        if match is not None:
            unused.remove(match)
            out.append(match)
            continue
        name, n = cell or "column", 2
        while name in seen:
            name, n = f"{cell or 'column'}__{n}", n + 1
        seen.add(name)
        out.append((name, None))
    return out


# ---- a stream's rows --------------------------------------------------------------------------------------

class Columns:
    """A report stream's columns at sync: the attributes to request, each file's header matched to them, each
    cell converted to its column's type (times from the workspace's timezone to UTC)."""

    def __init__(self, selection, timezone):
        self.stream = selection.stream
        self.schema = json.loads(json.dumps(selection.schema))
        self.properties = self.schema["properties"]
        self.fields = selection.fields
        self.catalog_columns = set(self.properties)
        import zoneinfo  # imported when a report is read

        self.zone = zoneinfo.ZoneInfo(timezone)
        self.attributes = []  # (column, attribute) of the selected columns, in the catalog's order
        for column in self.properties:
            attribute = selection.metadata.get(("properties", column), {}).get("intercom-attribute")
            if isinstance(attribute, dict) and attribute.get("id") and column in self.fields:
                self.attributes.append((column, attribute))
        self.warned = False

    def schema_line(self):
        key = list(self.stream.key)
        return schema_message(self.stream.name, self.schema, key,
                              [self.stream.replication_key] if self.stream.replication_key else None)

    def attribute_ids(self):
        return [str(a.get("qualified_id") or a["id"]) for _, a in self.attributes]

    def header_columns(self, header, where):
        matched = match_header(header, self.attributes)
        if self.attributes and header and not any(attribute for _, attribute in matched):
            raise ExportError(f"{where}: its header names none of the requested attributes "
                              f"(it begins {header[:3]!r})")
        return [name for name, _ in matched]

    def check(self, files, where):
        """Read a file once before its rows are written. Columns new to the catalog become text (True: the
        schema changed, a SCHEMA message goes before the rows). A cell its typed column cannot hold exactly
        stops the stream before this file: a warehouse column keeps the type it was created with, and the value's
        text must not change (docs/REPORTS.md says how to make such a column text)."""
        changed = False
        for header, rows in files:
            columns = self.header_columns(header, where)
            for column in columns:
                if column not in self.properties:
                    self.properties[column] = dict(TEXT)
                    changed = True
            typed = [(i, c, self._parse(c)) for i, c in enumerate(columns) if c in self.fields]
            typed = [t for t in typed if t[2] is not None]
            for row in rows:
                for i, column, parse in typed:
                    value = row[i] if i < len(row) else ""
                    if value == "":
                        continue
                    try:
                        parse(value)
                    except (ValueError, OverflowError):
                        kind = "date-time" if parse == self.to_utc else "number that prints back to its text"
                        raise ExportError(
                            f"{where}: column {column} is typed {kind.split()[0]} in the catalog but holds "
                            f"{value[:40]!r}, which is no {kind}; the stream stops before this window so the "
                            f"value is not changed: make the column text in the catalog and the table "
                            f"(docs/REPORTS.md, 'A column that meets text')") from None
        return changed

    def _parse(self, column):
        schema = self.properties.get(column) or {}
        types = schema.get("type") or []
        if schema.get("format") == "date-time":
            return self.to_utc
        if "number" in types or "integer" in types:
            return number
        return None

    def to_utc(self, text):
        return to_utc(text, self.zone)

    def converter(self, header, where):
        """A function from one CSV row to its record (None: a row without its key, skipped with an error)."""
        columns = self.header_columns(header, where)
        plan = [(i, c, self._parse(c)) for i, c in enumerate(columns)
                if c in self.fields or c not in self.catalog_columns]  # columns new to the catalog: kept
        key = [c for c in self.stream.key if c != HASH_KEY]
        hashed = HASH_KEY in self.stream.key
        import hashlib

        def convert(row):
            record = {}
            for i, column, parse in plan:
                value = row[i] if i < len(row) else ""
                record[column] = None if value == "" else value if parse is None else parse(value)
            if hashed:
                raw = json.dumps(sorted(zip(columns, row)), ensure_ascii=False)
                record[HASH_KEY] = hashlib.sha256(raw.encode()).hexdigest()[:32]
            missing = [c for c in key if record.get(c) is None]
            if missing:
                if not self.warned:
                    self.warned = True
                    LOGGER.error("%s: a row without its key (%s) is skipped (logged once per stream)",
                                 self.stream.name, ", ".join(missing))
                return None
            return record

        return convert


def to_utc(text, zone):
    """'YYYY-MM-DD[ HH:MM[:SS]]' in the workspace's timezone (or ISO 8601 with an offset, or epoch seconds) to
    UTC date-time."""
    text = text.strip()
    if text.isdigit() and len(text) <= 11:  # through the year 5138
        return epoch_to_rfc3339(int(text))
    match = _LOCAL_TIME.match(text)
    if match:
        year, month, day, hour, minute, second, fraction = match.groups()
        local = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                  int(second or 0), tzinfo=zone)
    else:
        local = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
        fraction = None
    epoch = int(local.timestamp())
    if fraction:
        return epoch_to_rfc3339(epoch)[:-8] + "." + fraction.ljust(6, "0") + "Z"
    return epoch_to_rfc3339(epoch)
