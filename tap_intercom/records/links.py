"""Link streams: the relations a record already carries (a conversation's tags, a contact's companies, a team's
admins ...), one row per pair, at no extra call.

Each row holds the two ids (the key), the parent's `updated_at` as `<parent>_updated_at` (as social_profiles
do) and what the embedded item itself says (a conversation tag's applied_at/applied_by, a conversation
contact's external_id). A relation removed in Intercom bumps the parent's updated_at: the parent is read again
and its current links are written with the new `<parent>_updated_at`, while the removed link's row keeps the
old one (README: the "current links" view) until the parent's next reconciliation pass (reconcile.py), whose
table version removes it. Full-table parents (companies, teams) are a new version every run.

Hooks, as streams.py describes them: rows(record, fetched) -> the link rows.
"""
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


def _rows(parent, parent_record, child, items, keep=()):
    """One row per distinct child id: {<parent>_id, <child>_id, <parent>_updated_at, what the item says}."""
    if not items:
        return []
    parent_key, child_key, stamp_key = _NAMES.get((parent, child)) or _names(parent, child)
    parent_id, stamp = str(parent_record["id"]), parent_record.get("updated_at")
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


_NAMES = {}  # (parent, child) -> the row's key names, made once
_NONE = {}


def _names(parent, child):
    names = _NAMES[parent, child] = (f"{parent}_id", f"{child}_id", f"{parent}_updated_at")
    return names


# ---- contacts (users and leads: one contact search) -----------------------------------------------------

def _contact_list(contact, fetched, name):
    """The complete list when it was fetched (has_more), else the embedded items (all of them then)."""
    complete = fetched.get(name) if fetched else None
    if complete is not None:
        return complete
    embedded = contact.get(name)  # {"type": "list", "data": [...]}, as Intercom sends it: no more calls
    if type(embedded) is dict and type(embedded.get("data")) is list:
        return embedded["data"]
    return _items(contact, name, "data")


def contact_tag_rows(contact, fetched):
    # Only the ids: the embedded items say nothing more, and the complete list (has_more) would fill more
    # columns for long lists alone.
    return _rows("contact", contact, "tag", _contact_list(contact, fetched, "tags"))


def contact_company_rows(contact, fetched):
    return _rows("contact", contact, "company", _contact_list(contact, fetched, "companies"))


# ---- companies ------------------------------------------------------------------------------------------

def company_tag_rows(company, _fetched):
    return _rows("company", company, "tag", _items(company, "tags", "tags", "data"), keep=("name",))


def company_segment_rows(company, _fetched):
    return _rows("company", company, "segment", _items(company, "segments", "segments", "data"), keep=("name",))


# ---- conversations and tickets --------------------------------------------------------------------------

def conversation_tag_rows(conversation, _fetched):
    return _rows("conversation", conversation, "tag", _items(conversation, "tags", "tags", "data"),
                 keep=("name", "applied_at", "applied_by"))


def conversation_contact_rows(conversation, _fetched):
    return _rows("conversation", conversation, "contact", _items(conversation, "contacts", "contacts", "data"),
                 keep=("external_id",))


def conversation_teammate_rows(conversation, _fetched):
    # Live workspaces send {"type": "admin.list", "admins": [...]}; the spec says "teammates" (API-NOTES 10).
    return _rows("conversation", conversation, "admin",
                 _items(conversation, "teammates", "admins", "teammates", "data"))


def ticket_contact_rows(ticket, _fetched):
    return _rows("ticket", ticket, "contact", _items(ticket, "contacts", "contacts", "data"), keep=("external_id",))


# ---- teams (full table: no updated_at) ------------------------------------------------------------------

def team_admin_rows(team, _fetched):
    """A team's members, from admin_ids (integers, while admins' own ids are strings: the rows say strings),
    with their `priority` ("primary" or "secondary") from admin_priority_level, when it lists them."""
    levels = team.get("admin_priority_level") or {}
    priority = {str(i): level for level in ("secondary", "primary") for i in (levels.get(f"{level}_admin_ids") or ())}
    members = team.get("admin_ids") if isinstance(team.get("admin_ids"), list) else []
    return [{"team_id": str(team["id"]), "admin_id": str(admin_id), "priority": priority.get(str(admin_id))}
            for admin_id in dict.fromkeys(members) if admin_id is not None]
