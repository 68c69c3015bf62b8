"""Search: query validation and evaluation, sorting, and keyset cursors.

A query compiles to a predicate over stored records. For a (collection, query, sort) the matching
records are sorted once into a list of `(value, id)` rows and cached until the collection changes; every page is then a bisect on that list, so paging costs O(log n + page).
Cursors are keyset cursors (the last row's sort value and id): stateless, like Intercom's.
"""
import base64
import bisect
import json
import threading
from collections import OrderedDict
from operator import itemgetter

MAX_PER_PAGE = 150
MAX_FILTERS = 15
MAX_DEPTH = 2
OPERATORS = {"=", "!=", ">", "<", ">=", "<=", "IN", "NIN", "~", "!~", "^", "$"}
CONTACT_DATES = {"created_at", "updated_at", "signed_up_at", "last_seen_at", "last_contacted_at",
                 "last_replied_at", "last_email_opened_at", "last_email_clicked_at", "android_last_seen_at",
                 "ios_last_seen_at"}
# Top-level record keys that search accepts (dotted paths below them are followed).
FIELDS = {
    "contacts": set(
        "id external_id workspace_id role email email_domain phone name owner_id has_hard_bounced "
        "marked_email_as_spam unsubscribed_from_emails language_override browser browser_version "
        "browser_language os android_app_name android_app_version android_device android_os_version "
        "android_sdk_version ios_app_name ios_app_version ios_device ios_os_version ios_sdk_version avatar "
        "location custom_attributes".split()) | CONTACT_DATES,
    "conversations": set(
        "id title created_at updated_at waiting_since snoozed_until open state read priority admin_assignee_id "
        "team_assignee_id source statistics conversation_rating custom_attributes first_contact_reply "
        "sla_applied ai_agent_participated ai_agent".split()),
    "companies": set(),
    "tickets": set("id ticket_id category ticket_attributes ticket_state ticket_type contacts admin_assignee_id "
                   "team_assignee_id created_at updated_at open snoozed_until is_shared".split()),
}
# Multi-valued search fields: a filter matches when any of the values does (NIN/!=: when none does).
CONVERSATION_LISTS = {
    "contact_ids": lambda r: [c["id"] for c in r["contacts"]["contacts"]],
    # live workspaces list the teammates under `admins` (the spec's `teammates` list is never sent)
    "teammate_ids": lambda r: [t["id"] for t in (r["teammates"] or {}).get("admins", [])],
    "tag_ids": lambda r: [t["id"] for t in r["tags"]["tags"]]}


class SearchError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message, code="parameter_invalid"):
    return SearchError(code, message)


# ---- field access ----------------------------------------------------------------------------------------
def _path_getter(parts):
    def get(r):
        for p in parts:
            if not isinstance(r, dict):
                return None
            r = r.get(p)
        return r
    return get


def field_getter(field, kind, ws):
    """Returns (getter, is_list). Unknown fields are a 400, as they are for Intercom."""
    if not isinstance(field, str) or not field:
        raise bad("field must be a non-empty string")
    if kind == "contacts":
        if field == "tag_id":
            return (lambda r: ws.contact_tag_ids(r["id"])), True
        if field == "segment_id":
            return (lambda r: [seg["id"] for seg, f in ws.segments if f(r)]), True
        if field.startswith("custom_attributes."):
            name = field[len("custom_attributes."):]  # attribute names may contain dots themselves
            return (lambda r: r["custom_attributes"].get(name)), False
    elif field in CONVERSATION_LISTS:
        return CONVERSATION_LISTS[field], True
    elif field.startswith("custom_attributes."):
        name = field[len("custom_attributes."):]
        return (lambda r: r["custom_attributes"].get(name)), False
    parts = field.split(".")
    if parts[0] not in FIELDS[kind]:
        raise bad("%s is not a searchable field" % field)
    if len(parts) == 1:
        return (lambda r: r.get(field)), False
    return _path_getter(parts), False


def is_date_field(field, ws):
    if field in CONTACT_DATES:
        return True
    return field.startswith("custom_attributes.") and field[len("custom_attributes."):] in ws.contact_date_attrs


# ---- filters ---------------------------------------------------------------------------------------------
def _number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _pair(a, b):
    """Coerces a record value `a` and a query value `b` to two comparable values (or None)."""
    if a is None or b is None:
        return None
    if isinstance(a, bool):
        return a, (b if isinstance(b, bool) else str(b).lower() == "true")
    if isinstance(a, (int, float)):
        n = _number(b)
        return None if n is None else (a, n)
    a = str(a)
    if isinstance(b, (int, float)) and not isinstance(b, bool) or (isinstance(b, str) and b.isdigit()):
        if a.isdigit():  # numeric ids ("200000123") compare as numbers
            return int(a), _number(b)
    return a, str(b)


def _compare(op, inclusive):
    if op in (">", ">="):
        return (lambda a, b: a >= b) if (inclusive or op == ">=") else (lambda a, b: a > b)
    return (lambda a, b: a <= b) if (inclusive or op == "<=") else (lambda a, b: a < b)


def _scalar_test(op, value, inclusive):
    """A test(record_value) -> bool for one non-date filter."""
    if op in ("IN", "NIN"):
        if not isinstance(value, list):
            raise bad("%s needs an array value" % op)
        def member(a):
            return any((p is not None and p[0] == p[1]) for p in (_pair(a, v) for v in value))
        return member if op == "IN" else (lambda a: a is not None and not member(a))
    if op in ("~", "!~", "^", "$"):
        if not isinstance(value, str):
            raise bad("%s needs a string value" % op)
        v = value.lower()
        if op == "~":
            return lambda a: isinstance(a, str) and v in a.lower()
        if op == "!~":
            return lambda a: not (isinstance(a, str) and v in a.lower())
        if op == "^":
            return lambda a: isinstance(a, str) and a.lower().startswith(v)
        return lambda a: isinstance(a, str) and a.lower().endswith(v)
    if op in ("=", "!="):
        def equal(a):
            if value is None or a is None:
                return a is value
            p = _pair(a, value)
            return p is not None and p[0] == p[1]
        return equal if op == "=" else (lambda a: not equal(a))
    cmp = _compare(op, inclusive)
    def ordered(a):
        p = _pair(a, value)
        try:
            return p is not None and cmp(p[0], p[1])
        except TypeError:
            return False
    return ordered


def _date_test(op, value, tz_offset):
    """Contact date filters match whole days in the workspace timezone (Intercom's stable versions)."""
    if op not in ("=", ">", "<"):
        raise bad("The %s operator is not supported for date fields" % op)
    x = _number(value)
    if x is None:
        raise bad("date filters need a unix timestamp value")
    day = (int(x // 1) + tz_offset) // 86400 * 86400 - tz_offset
    if op == ">":
        return lambda a: a is not None and a >= day + 86400
    if op == "<":
        return lambda a: a is not None and a < day
    return lambda a: a is not None and day <= a < day + 86400


def compile_query(query, kind, ws, depth=0):
    if not isinstance(query, dict):
        raise bad("query must be an object")
    if "field" in query:
        return _compile_filter(query, kind, ws)
    op, value = query.get("operator"), query.get("value")
    if op not in ("AND", "OR"):
        raise bad("operator must be AND or OR for a group, got %r" % (op,))
    if depth >= MAX_DEPTH:
        raise bad("Nested queries may be at most %d levels deep" % MAX_DEPTH)
    if not isinstance(value, list) or not value:
        raise bad("a %s group needs a non-empty array value" % op)
    if len(value) > MAX_FILTERS:
        raise bad("A group may contain at most %d filters" % MAX_FILTERS)
    preds = [compile_query(q, kind, ws, depth + 1) for q in value]
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:  # the common case (e.g. "> X OR = X"): avoid a generator per record
        a, b = preds
        return (lambda r: a(r) and b(r)) if op == "AND" else (lambda r: a(r) or b(r))
    if op == "AND":
        return lambda r: all(p(r) for p in preds)
    return lambda r: any(p(r) for p in preds)


def _compile_filter(f, kind, ws):
    field, op, value = f.get("field"), f.get("operator"), f.get("value")
    if op not in OPERATORS:
        raise bad("operator %r is not supported" % (op,))
    get, is_list = field_getter(field, kind, ws)
    if kind == "contacts" and is_date_field(field, ws):
        test = _date_test(op, value, ws.tz_offset)
    else:
        # Conversation search documents > and < as "greater (or equal)" / "lower (or equal)".
        test = _scalar_test(op, value, inclusive=(kind in ("conversations", "tickets")))
    if is_list:
        negative = op in ("!=", "NIN", "!~")
        if negative:
            positive = _scalar_test({"!=": "=", "NIN": "IN", "!~": "~"}[op], value, False)
            return lambda r: not any(positive(a) for a in get(r))
        return lambda r: any(test(a) for a in get(r))
    if field in FIELDS[kind]:  # top-level key: read it inline (one call less per record)
        return lambda r: test(r.get(field))
    return lambda r: test(get(r))


def updated_range(query):
    """(low, high): the updated_at values every record matching `query` lies within (either None: unbounded), from
    the filters on updated_at with a number value at its top level (alone or in its AND); None: no such filter.
    Widened by two days: a contact date filter matches whole days in the workspace's timezone."""
    filters = [query] if "field" in query else query.get("value") if query.get("operator") == "AND" else None
    if not isinstance(filters, list):
        return None
    low = high = None
    for f in filters:
        if not isinstance(f, dict) or f.get("field") != "updated_at" or isinstance(f.get("value"), bool):
            continue
        x, op = _number(f.get("value")), f.get("operator")
        if x is None:
            continue
        if op in (">", ">=", "="):
            low = x - 2 * 86400 if low is None else max(low, x - 2 * 86400)
        if op in ("<", "<=", "="):
            high = x + 2 * 86400 if high is None else min(high, x + 2 * 86400)
    return None if low is None and high is None else (low, high)


# ---- sorting and cursors ---------------------------------------------------------------------------------
def sort_spec(sort, default):
    if sort is None:
        return default
    if not isinstance(sort, dict):
        raise bad("sort must be an object")
    order = sort.get("order", "descending")
    if order not in ("ascending", "descending"):
        raise SearchError("invalid_sort_order",
                          "Invalid sort order '%s'. Must be one of: ascending, descending" % (order,))
    return sort.get("field") or default[0], order


def sort_rows(pairs):
    """Sorts (value, id) pairs in place. None becomes a sentinel below every value of the field's type
    ("" for text, -inf otherwise), so rows stay flat 2-tuples, which sort and bisect fastest."""
    sample = next((v for v, _ in pairs if v is not None), None)
    low = "" if isinstance(sample, str) else float("-inf")
    if sample is None or any(v is None for v, _ in pairs):
        pairs[:] = [(low, i) if v is None else (v, i) for v, i in pairs]
    pairs.sort()
    return low


def encode_cursor(value, rid, page):
    raw = json.dumps([value, rid, page], separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def decode_cursor(s):
    try:
        value, rid, page = json.loads(base64.b64decode(s.encode("ascii"), validate=True).decode("utf-8"))
        if not isinstance(rid, str) or not isinstance(page, int):
            raise ValueError
        return value, rid, page
    except Exception:
        raise bad("starting_after %r is not a valid cursor" % (s,))


def per_page_of(raw, default):
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise bad("per_page must be an integer")
    return max(1, min(MAX_PER_PAGE, n))  # Intercom caps page size at 150 instead of failing


class Searcher:
    """Caches matching + sorted key lists per (kind, query, sort) and pages through them."""

    def __init__(self, ws, size=256):  # room for many concurrent searches (a tap reading windows)
        self.ws, self.size = ws, size
        self._cache = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks = {}
        self._indexes = {}  # kind -> (version, updated_at values sorted, their ids, ids whose updated_at is no number)

    def _keys(self, kind, query, field):
        version = self.ws.versions[kind]
        ckey = (kind, json.dumps(query, sort_keys=True), field)
        with self._lock:
            hit = self._cache.get(ckey)
            if hit and hit[0] == version:
                self._cache.move_to_end(ckey)
                return hit[1], hit[2]
            build_lock = self._build_locks.setdefault(kind, threading.Lock())
        pred = compile_query(query, kind, self.ws) if query is not None else None
        get, is_list = field_getter(field, kind, self.ws)
        if is_list:
            raise bad("cannot sort by %s" % field)
        with build_lock:  # one build at a time per collection: concurrent pages wait, then hit the cache
            with self._lock:
                hit = self._cache.get(ckey)
                if hit and hit[0] == self.ws.versions[kind]:
                    return hit[1], hit[2]
            version = self.ws.versions[kind]
            recs = self._candidates(kind, query, version) if query is not None else self.ws.records(kind)
            if pred is not None:
                recs = [r for r in recs if pred(r)]
            if field in FIELDS[kind]:
                rows = list(map(itemgetter(field, "id"), recs))  # C speed for top-level keys
            else:
                rows = [(get(r), r["id"]) for r in recs]
            try:
                low = sort_rows(rows)
            except TypeError:
                raise bad("cannot sort by %s: mixed value types" % field)
            with self._lock:
                for k in [k for k, v in self._cache.items() if k[0] == kind and v[0] != version]:
                    del self._cache[k]  # stale: the collection changed since it was built
                self._cache[ckey] = (version, rows, low)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
            return rows, low

    def _candidates(self, kind, query, version):
        """The records `query` may match: with a bound on updated_at (a tap's window), only those near its range,
        found in an index of updated_at (as Intercom's own search would use one), instead of every record."""
        bounds = updated_range(query)
        if bounds is None:
            return self.ws.records(kind)
        with self._lock:
            index = self._indexes.get(kind)
        if index is None or index[0] != version:
            numbered, rest = [], []
            for r in self.ws.records(kind):
                at = r.get("updated_at")
                if type(at) in (int, float):
                    numbered.append((at, r["id"]))
                else:  # a string compares as text: always a candidate
                    rest.append(r["id"])
            numbered.sort()
            index = (version, [at for at, _ in numbered], [rid for _, rid in numbered], rest)
            with self._lock:
                self._indexes[kind] = index
        _, ats, ids, rest = index
        low, high = bounds
        first = 0 if low is None else bisect.bisect_left(ats, low)
        last = len(ats) if high is None else bisect.bisect_right(ats, high)
        store = getattr(self.ws, kind)
        return [r for r in (store.get(rid) for rid in ids[first:last] + rest) if r is not None]

    def page(self, kind, query, sort, per_page, starting_after):
        """Returns (records, total_count, page_number, total_pages, next_cursor or None)."""
        field, order = sort
        rows, low = self._keys(kind, query, field)
        start_page = 0
        try:
            if starting_after:
                value, rid, start_page = decode_cursor(starting_after)
                mark = (low if value is None else value, rid)
                if order == "ascending":
                    lo = bisect.bisect_right(rows, mark)
                    chunk = rows[lo:lo + per_page]
                    more = lo + per_page < len(rows)
                else:
                    hi = bisect.bisect_left(rows, mark)
                    chunk = rows[max(0, hi - per_page):hi][::-1]
                    more = hi - per_page > 0
            elif order == "ascending":
                chunk, more = rows[:per_page], per_page < len(rows)
            else:
                chunk, more = rows[-per_page:][::-1], per_page < len(rows)
        except TypeError:
            raise bad("starting_after does not fit sort field %s" % field)
        store = getattr(self.ws, kind)
        records = [r for r in (store.get(rid) for _, rid in chunk) if r is not None]
        page_no = start_page + 1
        nxt = None
        if more and chunk:
            value, rid = chunk[-1]
            nxt = encode_cursor(None if value == low and type(value) is type(low) else value, rid, page_no)
        total = len(rows)
        return records, total, page_no, -(-total // per_page), nxt
