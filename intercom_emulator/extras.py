"""Fields Intercom starts sending between two runs: `POST /_emulator/config {"extra_fields": {...}}`.

Intercom adds fields to its objects without a new API version (`ai_agent`, `linked_objects` and `topics`
appeared that way), so a test must be able to make the emulator start sending one mid-life. A configured field
is added to every object of its type that the emulator serves as a record (search and list pages, scroll,
GET by id, the parts inside a conversation or ticket) and to the truth; references to an object embedded in
another record (a conversation's `contacts`, a contact's `tags` list) are left alone.

Config: `{"<type>": {"<field or dotted.path>": value, ...}}`. The type is the object's `type` as Intercom names
it (`contact`, `company`, `conversation`, `conversation_part`, `ticket`, `ticket_part`, `admin`, `team`, `tag`,
`segment`, `note`, `article`, `news-item`, `newsfeed`, `subscription`, `data_attribute`, `ticket_type`,
`ticket_state`, `social_profile`), or, for records that carry no `type`: `collection`, `help_center`,
`activity_log`, and `deleted_conversation` for the items of GET /conversations/deleted. A dotted path sets a
key inside an existing object (`location.region_code`); a `*` segment stands for every item of a list
(`tags.tags.*.color`); a path whose parent is absent or not an object is skipped. A value `null` removes the
configured field; `{"<type>": null}` removes every field of that type.

Records are never changed in place (the workspace is copy-on-write): `apply` returns a copy with the fields set,
copying only the objects along each path. With nothing configured for a type, `apply` is one dict lookup.
"""
import json
import threading

# Objects served only inside another record: (parent type, list key, items key, type). A social profile has no
# endpoint of its own; its stream is read from the contact.
EMBEDDED = {"contact": [("social_profiles", "data", "social_profile")]}
# The truth's streams whose records carry no `type` of their own, or a misleading one.
TRUTH_KINDS = {"help_center_collections": "collection", "help_centers": "help_center",
               "activity_logs": "activity_log", "deleted_conversations": "deleted_conversation"}


class Extras:
    def __init__(self):
        self.fields = {}       # type -> {path: value}, as configured (for GET /_emulator/config)
        self._compiled = {}    # type -> [(path segments, value)]
        self.generation = 0    # bumped on every change: cached JSON of served records is stale then
        self._lock = threading.Lock()

    def configure(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("extra_fields must be an object {type: {field: value}}")
        with self._lock:
            fields = {k: dict(v) for k, v in self.fields.items()}
            for kind, cfg in spec.items():
                if cfg is None:
                    fields.pop(kind, None)
                    continue
                if not isinstance(cfg, dict):
                    raise ValueError("extra_fields[%r] must be an object {field: value} or null" % kind)
                mine = fields.setdefault(kind, {})
                for path, value in cfg.items():
                    if not isinstance(path, str) or not path or "" in path.split("."):
                        raise ValueError("extra field path %r is not a field name or dotted path" % path)
                    if path.split(".")[-1] == "*":
                        raise ValueError("extra field path %r must end with a field name" % path)
                    if value is None:
                        mine.pop(path, None)
                    else:
                        mine[path] = json.loads(json.dumps(value))  # our own copy, plain JSON
                if not mine:
                    del fields[kind]
            self.fields = fields
            # Shorter paths first: a new object set at `a` can then receive `a.b`.
            compiled = {k: sorted(((p.split("."), v) for p, v in cfg.items()), key=lambda x: len(x[0]))
                        for k, cfg in fields.items()}
            for parent, embedded in EMBEDDED.items():
                if any(e[2] in compiled for e in embedded):
                    compiled.setdefault(parent, [])
            self._compiled = compiled
            self.generation += 1
        return self.config()

    def config(self):
        return {k: dict(v) for k, v in self.fields.items()}

    def apply(self, rec, kind=None):
        """`rec` with the fields configured for its type (or `kind`) set; `rec` itself when there are none."""
        todo = self._compiled.get(kind or rec.get("type")) if self._compiled else None
        if todo is None:
            return rec
        out = dict(rec)
        for segs, value in todo:
            _set(out, segs, value)
        for key, items, ekind in EMBEDDED.get(kind or rec.get("type"), ()):
            listing = out.get(key)
            if ekind in self._compiled and isinstance(listing, dict) and isinstance(listing.get(items), list):
                out[key] = dict(listing, **{items: [self.apply(x, ekind) if isinstance(x, dict) else x
                                                    for x in listing[items]]})
        return out

    def each(self, recs, kind=None):
        """A list of records with their fields (the same list when nothing is configured)."""
        if not self._compiled:
            return recs
        return [self.apply(r, kind) for r in recs]


def _set(obj, segs, value):
    """Sets segs[-1] below `obj` (a copy the caller owns), copying each object on the way down."""
    head = segs[0]
    if len(segs) == 1:
        obj[head] = value
        return
    child = obj.get(head)
    if head == "*":
        return  # a list of lists: not a shape Intercom sends
    if isinstance(child, list) and segs[1] == "*":
        return _set_list(obj, head, child, segs[2:], value)
    if not isinstance(child, dict):
        return  # a nested key goes inside an existing object only
    child = dict(child)
    obj[head] = child
    _set(child, segs[1:], value)


def _set_list(obj, head, items, rest, value):
    copied = []
    for item in items:
        if isinstance(item, dict):
            item = dict(item)
            _set(item, rest, value)
        copied.append(item)
    obj[head] = copied


def apply_truth(extras, truth):
    """The truth's records as served: each stream's list with the fields configured for its records' type."""
    if not extras._compiled:
        return truth
    out = {stream: extras.each(recs, TRUTH_KINDS.get(stream)) if recs and isinstance(recs[0], dict) else recs
           for stream, recs in truth.items()}
    # Social profiles are read from the contacts as served (a contact path such as
    # `social_profiles.data.*.verified` reaches them too), in the truth's order: by contact id.
    people = sorted(out.get("users", []) + out.get("contacts", []), key=lambda c: c["id"])
    out["social_profiles"] = [dict(p, contact_id=c["id"]) for c in people for p in c["social_profiles"]["data"]]
    return out
