"""A report stream's columns and values: the header of each export file matched to the requested attributes,
each cell converted to its column's type (times from the workspace's timezone to UTC), and a value its guessed
type cannot hold kept in a text column beside it (`<column>__text`): no value is lost to a wrong guess.
"""
import datetime
import json
import logging
import re

from tap_intercom.errors import ExportError
from tap_intercom.records.output import schema_message
from tap_intercom.records.timestamps import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")
HASH_KEY = "_row_hash"  # the key of a dataset without an id column
TEXT_SUFFIX = "__text"  # beside a typed column: its values that are not of its type
_LOCAL_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?$")


class Columns:
    """A report stream's columns: the attributes to request, the header of each file matched to them, values
    converted to their column's type (times from the workspace's timezone to UTC)."""

    def __init__(self, selection, timezone):
        self.stream = selection.stream
        self.schema = json.loads(json.dumps(selection.schema))
        self.properties = self.schema["properties"]
        self.fields = selection.fields
        self.catalog_columns = set(self.properties)
        import zoneinfo  # imported when a report is read, as hashlib below

        self.zone = zoneinfo.ZoneInfo(timezone)
        self.attributes = []  # (column, attribute) of the selected columns, in the catalog's order
        for column in self.properties:
            attribute = selection.metadata.get(("properties", column), {}).get("intercom-attribute")
            if isinstance(attribute, dict) and attribute.get("id") and column in self.fields:
                self.attributes.append((column, attribute))
        self.warned = set()

    def schema_line(self):
        key = list(self.stream.key)
        return schema_message(self.stream.name, self.schema, key,
                              [self.stream.replication_key] if self.stream.replication_key else None)

    def attribute_ids(self):
        return [str(a.get("qualified_id") or a["id"]) for _, a in self.attributes]

    def header_columns(self, header, where):
        """The column of each header cell: the first unused requested attribute named so (by id, qualified id
        or display name), else the cell itself (an unrequested column such as `*_raw_id`, kept as text)."""
        unused = list(self.attributes)
        out, seen = [], set()
        for cell in header:
            match = next((pair for pair in unused if cell in (pair[1].get("id"), pair[1].get("qualified_id"),
                                                                pair[1].get("name"))), None)
            if match is not None:
                unused.remove(match)
                name = match[0]
            else:
                name, n = cell or "column", 2
                while name in seen or (name in self.properties and any(c == name for c, _ in self.attributes)):
                    name, n = f"{cell}__{n}", n + 1
            seen.add(name)
            out.append(name)
        if self.attributes and len(unused) == len(self.attributes) and header:
            raise ExportError(f"{where}: its header names none of the requested attributes "
                              f"(it begins {header[:3]!r})")
        return out

    def _add_text(self, column):
        if column not in self.properties:  # never lose a value: a column the catalog lacks arrives as text
            self.properties[column] = {"type": ["null", "string"]}
            return True
        return False

    def widen(self, files, where):
        """Read a file once before its rows are written: columns new to the schema (text), and a text column
        `<column>__text` beside a typed column for the values its guessed type cannot hold (the typed column
        keeps its type: a warehouse column cannot change type once loaded). True when the schema changed (a
        SCHEMA message goes before the rows)."""
        changed = False
        for header, rows in files:
            columns = self.header_columns(header, where)
            for column in columns:
                changed |= self._add_text(column)
            typed = [(i, c, self._parse(c)) for i, c in enumerate(columns)
                     if self._parse(c) is not None and c + TEXT_SUFFIX not in self.properties]
            for row in rows:
                for i, column, parse in list(typed):
                    value = row[i] if i < len(row) else ""
                    if value == "":
                        continue
                    try:
                        parse(value)
                    except (ValueError, OverflowError):
                        LOGGER.warning("%s.%s: %r is not a %s; such values go to %s%s", self.stream.name, column,
                                       value[:40], "date-time" if "format" in self.properties[column] else "number",
                                       column, TEXT_SUFFIX)
                        changed |= self._add_text(column + TEXT_SUFFIX)
                        typed = [t for t in typed if t[1] != column]
        return changed

    def _parse(self, column):
        schema = self.properties.get(column) or {}
        types = schema.get("type") or []
        if schema.get("format") == "date-time":
            return self.to_utc
        if "number" in types or "integer" in types:
            return _number
        return None

    def to_utc(self, text):
        """'YYYY-MM-DD[ HH:MM[:SS]]' in the workspace's timezone (or ISO 8601 with an offset, or epoch seconds) to
        UTC date-time."""
        text = text.strip()
        if text.isdigit() and len(text) <= 11:  # through the year 5138
            return epoch_to_rfc3339(int(text))
        match = _LOCAL_TIME.match(text)
        if match:
            year, month, day, hour, minute, second, fraction = match.groups()
            local = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                      int(second or 0), tzinfo=self.zone)
        else:
            local = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            if local.tzinfo is None:
                local = local.replace(tzinfo=self.zone)
            fraction = None
        epoch = int(local.timestamp())
        if fraction:
            return epoch_to_rfc3339(epoch)[:-8] + "." + fraction.ljust(6, "0") + "Z"
        return epoch_to_rfc3339(epoch)

    def converter(self, header, where):
        """A function from one CSV row to its record (None: a row without its key, skipped with an error)."""
        columns = self.header_columns(header, where)
        plan = [(i, c, self._parse(c)) for i, c in enumerate(columns)
                if c in self.fields or c not in self.catalog_columns]  # columns new to the catalog: kept
        key = [c for c in self.stream.key if c != HASH_KEY]
        hashed = HASH_KEY in self.stream.key
        import hashlib
        name = self.stream.name

        def convert(row):
            record = {}
            for i, column, parse in plan:
                value = row[i] if i < len(row) else ""
                if value == "":
                    record[column] = None
                elif parse is None:
                    record[column] = value
                else:
                    try:
                        record[column] = parse(value)
                    except (ValueError, OverflowError):  # widen() made its text column: the value is kept there
                        record[column], record[column + TEXT_SUFFIX] = None, value
            if hashed:
                raw = json.dumps(sorted(zip(columns, row)), ensure_ascii=False)
                record[HASH_KEY] = hashlib.sha256(raw.encode()).hexdigest()[:32]
            missing = [c for c in key if record.get(c) is None]
            if missing:
                if name not in self.warned:
                    self.warned.add(name)
                    LOGGER.error("%s: a row without its key (%s) is skipped (logged once per stream)", name,
                                 ", ".join(missing))
                return None
            return record

        return convert


def _number(text):
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(text) from None
        return value
