"""Link streams: the relations a record already carries (a conversation's tags, a contact's companies, a team's
admins ...), one row per pair, at no extra call.

Each row holds the two ids (the key), the parent's `updated_at` as `<parent>_updated_at` (as social_profiles
do) and what the embedded item itself says (a conversation tag's applied_at/applied_by, a conversation
contact's external_id). A relation removed in Intercom bumps the parent's updated_at: the parent is read again
and its current links are written with the new `<parent>_updated_at`, while the removed link's row keeps the
old one (README: the "current links" view) until the parent's next reconciliation pass (reconcile.py), whose
table version removes it. Full-table parents (companies, teams) are a new version every run.

Hooks, as streams.py describes them: rows(record, fetched) -> the link rows. A Link (the hook of most link streams)
also writes the lines of rows that are only ids and the parent's updated_at straight from the record (Link.lines),
rather than building each row as a dict for the transform and the encoder: a record's lines share all but the child
id (issue 29: a contact's tag rows cost 27k instructions that way, 20k this way).
"""
import operator

from tap_intercom.records.output import orjson
from tap_intercom.records.timestamps import _MS_ABOVE, epoch_text


def _items(record, name, *inner):
    """The items of an embedded list: {"type": "...list", "<inner>": [...]} under one of `inner`'s names, or a
    plain list. Anything else (null, a shape not seen before) is no items."""
    value = record.get(name)
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in inner:
            if isinstance(value.get(key), list):
                return value[key]
    return []


def embedded(name, *inner):
    """items(record, fetched): the list `name` embeds (see _items); nothing is fetched for these."""
    return lambda record, _fetched: _items(record, name, *inner)


def contact_list(name):
    """items(contact, fetched): the complete list when it was fetched (has_more), else the embedded items (all of
    them then)."""
    def items(contact, fetched):
        complete = fetched.get(name) if fetched else None
        if complete is not None:
            return complete
        listed = contact.get(name)  # {"type": "list", "data": [...]}, as Intercom sends it: no more calls
        if type(listed) is dict and type(listed.get("data")) is list:
            return listed["data"]
        return _items(contact, name, "data")
    return items


class Link:
    """A link stream's rows hook: link(record, fetched) -> one row per distinct child id, {<parent>_id, <child>_id,
    <parent>_updated_at, what the item says (`keep`)}; and `lines`, which writes the RECORD lines of rows without
    what the item says straight from the record."""

    def __init__(self, parent, child, items, keep=()):
        self.names = (f"{parent}_id", f"{child}_id", f"{parent}_updated_at")
        self.items = items  # (record, fetched) -> its items: dicts with an id, or bare ids
        self.keep = keep

    def __call__(self, record, fetched):
        items = self.items(record, fetched)
        if not items:
            return []
        parent_key, child_key, stamp_key = self.names
        parent_id, stamp, keep = str(record["id"]), record.get("updated_at"), self.keep
        rows = {}
        for item in items:
            if type(item) is dict or isinstance(item, dict):
                child_id = item.get("id")
            else:  # a bare id (a team's admin_ids)
                child_id, item = item, _NONE
            if child_id is None:
                continue
            child_id = child_id if type(child_id) is str else str(child_id)
            row = rows[child_id] = {parent_key: parent_id, child_key: child_id, stamp_key: stamp}
            for name in keep:
                if name in item:
                    row[name] = item[name]
        return list(rows.values())

    def lines(self, schema, fields, encoder):
        """write(record, fetched, lines, extracted) -> how many rows it wrote as RECORD lines (encoder's), the
        same bytes the transform and the encoder make of the rows (tests/test_link_lines.py): the rows are two
        ids and a date-time, so a record's lines share all but the child id. None when the stream's catalog makes the
        rows anything else (a kept item field, another type); write itself returns None for a record it cannot
        write exactly (an updated_at not in epoch seconds, an id UTF-8 cannot encode): its rows go the general way.
        """
        properties = schema.get("properties") or {}
        parent_key, child_key, stamp_key = self.names
        if orjson is None or self.keep or not all(_is(properties.get(name), "string", None)
                                                  for name in (parent_key, child_key)) \
                or not _is(properties.get(stamp_key), "string", "date-time") or not {parent_key, child_key} <= fields:
            return None
        nullable = "null" in _types(properties[stamp_key])
        opening, between = b"{" + _json(parent_key) + b":", b"," + _json(child_key) + b":"
        stamped = b"," + _json(stamp_key) + b":" if stamp_key in fields else None
        items, dumps = self.items, orjson.dumps

        def write(record, fetched, lines, extracted):
            found = items(record, fetched)
            if not found:
                return 0
            prefix, suffix = encoder.frame(extracted)
            if stamped is not None:
                updated = record.get("updated_at")
                if type(updated) is int and 0 <= updated < _MS_ABOVE:
                    text = b'"%s"' % epoch_text(updated).encode()
                else:
                    text = _stamp(updated, nullable)
                    if text is None:
                        return None  # the transform decides (text, milliseconds, a misfit)
                tail = b"".join((stamped, text, b"}", suffix))
            else:
                tail = b"}" + suffix
            parent_id = record["id"]
            try:
                head = b"".join((prefix, opening, dumps(parent_id if type(parent_id) is str else str(parent_id)),
                                 between))
            except TypeError:
                return None
            made, seen = [], set()
            for item in found:
                child_id = item.get("id") if type(item) is dict or isinstance(item, dict) else item
                if child_id is None:
                    continue
                if type(child_id) is not str:
                    child_id = str(child_id)
                if child_id in seen:
                    continue
                seen.add(child_id)
                try:
                    made.append(b"".join((head, dumps(child_id), tail)))
                except TypeError:  # a lone surrogate: the encoder replaces it, with a warning
                    return None
            lines += made
            return len(made)
        return write


class Embedded:
    """The items a record embeds under `name` (see _items) as rows of their own, each with the parent's id and
    updated_at (a contact's social profiles): {**item, <parent>_id, <parent>_updated_at}, one row per distinct
    `unique` values (the last item of equal ones, in the first one's place), items lacking one of them left out.
    Like Link, `lines` writes the RECORD lines of items that are plain text straight from the record (issue 29: a
    contact's social profiles cost 35k instructions the general way, 18k this way)."""

    def __init__(self, parent, name, inner, unique):
        self.names = (f"{parent}_id", f"{parent}_updated_at")
        self.name, self.inner, self.unique = name, inner, unique

    def __call__(self, record, _fetched):
        items = _items(record, self.name, self.inner)
        if not items:
            return ()
        id_key, stamp_key = self.names
        parent, unique = {id_key: record["id"], stamp_key: record.get("updated_at")}, self.unique
        rows = {}
        for item in items:
            if isinstance(item, dict):
                key = tuple(item.get(name) for name in unique)
                if None not in key:
                    rows[key] = {**item, **parent}
        return list(rows.values())

    def lines(self, schema, fields, encoder):
        """write(record, fetched, lines, extracted) -> how many rows it wrote, the same bytes the general way makes
        of them (tests/test_link_lines.py); None (for the stream, or from write for a record) where it cannot be
        exact: an item with a key that is not a selected plain-text field, a value that is not text, two items with
        the same `unique` values, a parent id or updated_at the transform would convert."""
        properties = schema.get("properties") or {}
        id_key, stamp_key = self.names
        if orjson is None or not {id_key, stamp_key} <= fields or not _is(properties.get(id_key), "string", None) \
                or not _is(properties.get(stamp_key), "string", "date-time"):
            return None
        plain = frozenset(name for name in fields - set(self.names) if _is(properties.get(name), "string", None))
        nullable = "null" in _types(properties[stamp_key])
        name, inner, unique, keysets = self.name, self.inner, self.unique, {}  # item keys -> _unique_of's answer
        parent_key, stamp_key, dumps = b"," + _json(id_key) + b":", b"," + _json(stamp_key) + b":", orjson.dumps

        def write(record, fetched, lines, extracted):
            listed = record.get(name)  # {"type": "list", "data": [...]}, as Intercom sends it
            found = listed.get(inner) if type(listed) is dict else None
            if type(found) is not list:
                found = _items(record, name, inner)
            if not found:
                return 0
            parent_id, updated = record["id"], record.get("updated_at")
            if type(parent_id) is not str:
                return None
            if type(updated) is int and 0 <= updated < _MS_ABOVE:
                stamp = b'"%s"' % epoch_text(updated).encode()
            else:
                stamp = _stamp(updated, nullable)
                if stamp is None:
                    return None  # the transform decides (text, milliseconds, a misfit)
            prefix, suffix = encoder.frame(extracted)
            try:
                tail = b"".join((parent_key, dumps(parent_id), stamp_key, stamp, b"}", suffix))
            except TypeError:  # a lone surrogate: the encoder replaces it, with a warning
                return None
            made, seen = [], set()
            for item in found:
                if type(item) is not dict:
                    return None
                keys = tuple(item)
                unique_of = keysets.get(keys)
                if unique_of is None:
                    unique_of = keysets[keys] = _unique_of(keys, plain, unique)
                if unique_of is False or not _TEXT.issuperset(map(type, item.values())):
                    return None
                if unique_of is _MISSING:
                    continue  # no row, as the general way
                key = unique_of(item)
                if key in seen:
                    return None
                seen.add(key)
                try:
                    made.append(b"".join((prefix, dumps(item)[:-1], tail)))
                except TypeError:
                    return None
            lines += made
            return len(made)
        return write


_TEXT = frozenset({str})


def _unique_of(keys, plain, unique):
    """For items with these keys: False when one is not a selected plain-text field, _MISSING when one of `unique`
    is missing (the item makes no row), else the getter of the item's `unique` values."""
    if not keys or not plain.issuperset(keys):
        return False
    if not set(unique) <= set(keys):
        return _MISSING
    return operator.itemgetter(*unique) if len(unique) > 1 else (lambda item: (item[unique[0]],))


_MISSING = object()

_LAST = (None, None)  # the last stamp written and its JSON (one tuple: producer threads share it)


def _stamp(value, nullable):
    """A parent's updated_at as the transform writes it, as JSON; None when only the transform can tell."""
    global _LAST
    last = _LAST
    if value == last[0] and type(value) is int:
        return last[1]
    if type(value) is int and 0 <= value < _MS_ABOVE:
        text = b'"' + epoch_text(value).encode() + b'"'
        _LAST = (value, text)
        return text
    return b"null" if value is None and nullable else None


def _json(text):
    """orjson's JSON of a string (an error for one UTF-8 cannot hold, a lone surrogate)."""
    return b'"' + text.encode() + b'"' if text.isalnum() else orjson.dumps(text)


def _types(schema):
    kinds = schema.get("type", [])
    return kinds if isinstance(kinds, list) else [kinds]


def _is(schema, kind, fmt):
    """Whether a property's schema is exactly `kind` (nullable or not) with this format (None: none)."""
    return isinstance(schema, dict) and [t for t in _types(schema) if t != "null"] == [kind] \
        and schema.get("format") == fmt and schema.keys() <= {"type", "format", "description"}


_NONE = {}

# ---- contacts (users and leads: one contact search) -----------------------------------------------------
# Only the ids: the embedded items say nothing more, and the complete list (has_more) would fill more columns
# for long lists alone.
contact_tag_rows = Link("contact", "tag", contact_list("tags"))
contact_company_rows = Link("contact", "company", contact_list("companies"))

# ---- companies ------------------------------------------------------------------------------------------
company_tag_rows = Link("company", "tag", embedded("tags", "tags", "data"), keep=("name",))
company_segment_rows = Link("company", "segment", embedded("segments", "segments", "data"), keep=("name",))

# ---- conversations and tickets --------------------------------------------------------------------------
conversation_tag_rows = Link("conversation", "tag", embedded("tags", "tags", "data"),
                             keep=("name", "applied_at", "applied_by"))
conversation_contact_rows = Link("conversation", "contact", embedded("contacts", "contacts", "data"),
                                 keep=("external_id",))
# Live workspaces send {"type": "admin.list", "admins": [...]}; the spec says "teammates" (API-NOTES 10).
conversation_teammate_rows = Link("conversation", "admin", embedded("teammates", "admins", "teammates", "data"))
ticket_contact_rows = Link("ticket", "contact", embedded("contacts", "contacts", "data"), keep=("external_id",))


# ---- teams (full table: no updated_at) ------------------------------------------------------------------

def team_admin_rows(team, _fetched):
    """A team's members, from admin_ids (integers, while admins' own ids are strings: the rows say strings),
    with their `priority` ("primary" or "secondary") from admin_priority_level, when it lists them."""
    levels = team.get("admin_priority_level") or {}
    priority = {str(i): level for level in ("secondary", "primary") for i in (levels.get(f"{level}_admin_ids") or ())}
    members = team.get("admin_ids") if isinstance(team.get("admin_ids"), list) else []
    return [{"team_id": str(team["id"]), "admin_id": str(admin_id), "priority": priority.get(str(admin_id))}
            for admin_id in dict.fromkeys(members) if admin_id is not None]
