"""The Intercom endpoints: routing table and handlers. Handlers return (status, payload) or raise ApiError;
the HTTP layer (server.py) does auth, rate limiting, faults and serialisation around them."""
import html
import json
import re
import threading
import time
import uuid
from urllib.parse import urlencode

from . import content, content_export, newer, reporting, tickets
from .answers import ApiError, RawList, before_2_14, page_number, since_2_16
from .search import per_page_of, sort_spec

MAX_PAGED_COMPANIES = 10000  # "at most 10,000 companies can be reached by paging - use scroll beyond that"
READ_ONLY_POSTS = {"/contacts/search", "/conversations/search", "/companies/list", "/tickets/search",
                   "/calls/search"}


class Fragments:
    """Per-record JSON bytes, reused while the stored record object is unchanged: serialising is most of a
    page's cost, and copy-on-write storage makes object identity a safe validity check."""

    def __init__(self, extras):
        self._cache = {}
        self.extras = extras  # configured extra fields: a change of them makes every cached fragment stale

    def get(self, rec, view=None):
        hit = self._cache.get(rec["id"])
        gen = self.extras.generation
        if hit is not None and hit[0] is rec and hit[1] == gen:
            return hit[2]
        raw = json.dumps(self.extras.apply(view(rec) if view else rec), separators=(",", ":")).encode()
        self._cache[rec["id"]] = (rec, gen, raw)
        return raw

    def warm(self, records, view=None):
        """Encode every record now (at start-up), so that a first sync finds them ready as a later one does."""
        for rec in records:
            self.get(rec, view)


def admin_view(admin, version, avatar=True):
    out = dict(admin)
    if not avatar:
        del out["avatar"]
    elif before_2_14(version):
        out["avatar"] = {"image_url": admin["avatar"]} if admin["avatar"] else None
    return out


def _bool(v):
    return str(v).lower() in ("1", "true", "yes")


def plaintext(text):
    """display_as=plaintext: links become `label (url)`, other markup is dropped."""
    if text is None:
        return None
    text = re.sub(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', r"\2 (\1)", text)
    text = re.sub(r"<br\s*/?>|</p>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


class Api:
    def __init__(self, ws, searcher, scroll_expiry=60, scroll_page_size=50):
        self.ws, self.searcher = ws, searcher
        self.scroll_expiry, self.scroll_page_size = float(scroll_expiry), int(scroll_page_size)
        self._scroll = None
        self._scroll_lock = threading.Lock()
        self._company_cache = {}
        self.ex = ws.extras
        self.fragments = Fragments(ws.extras)
        self.routes = [  # (method, template, scope, handler); literal segments win over {id}
            # /me: the token's admin and workspace. Intercom's docs (2.6) say it needs "Read admins" (a guess for
            # today's tokens; a tap must not depend on it)
            ("GET", "/me", "read_admins", self.me),
            ("GET", "/admins", "read_admins", self.admins),
            ("GET", "/admins/{id}", "read_admins", self.admin),
            ("GET", "/teams", "read_admins", self.teams),
            ("GET", "/tags", "read_tags", self.tags),
            ("GET", "/segments", "read_users_companies", self.segments),
            ("GET", "/data_attributes", "read_users_companies", self.data_attributes),
            ("GET", "/companies/scroll", "read_users_companies", self.scroll),
            ("POST", "/companies/list", "read_users_companies", self.companies_list),
            ("GET", "/companies", "read_users_companies", self.companies_get),
            ("GET", "/companies/{id}", "read_users_companies", self.company),
            ("GET", "/contacts", "read_users_companies", self.contacts_list),
            ("POST", "/contacts/search", "read_users_companies", self.contacts_search),
            ("GET", "/contacts/{id}", "read_users_companies", self.contact),
            ("GET", "/contacts/{id}/tags", "read_users_companies", self.contact_tags),
            ("GET", "/contacts/{id}/companies", "read_users_companies", self.contact_companies),
            ("GET", "/contacts/{id}/notes", "read_users_companies", self.contact_notes),
            ("GET", "/notes/{id}", "read_users_companies", self.note),
            ("GET", "/conversations", "read_conversations", self.conversations_list),
            ("GET", "/conversations/deleted", "read_conversations", self.deleted_conversations),
            ("POST", "/conversations/search", "read_conversations", self.conversations_search),
            ("GET", "/conversations/{id}", "read_conversations", self.conversation)]
        # first: /admins/activity_logs must win over /admins/{id}
        self.routes[:0] = tickets.routes(self) + content.routes(self)
        self.routes[:0] = newer.routes(self)  # first: its contact routes add merge history and 410 Gone
        self.routes[:0] = reporting.routes(self)  # sets self.reporting (the Reporting Data Export)
        self.routes[:0] = content_export.routes(self)  # sets self.content_export (the content data export)

    # ---- routing --------------------------------------------------------------------------------------
    def match(self, method, path):
        """Returns (template, scope, handler, params). A known path with another method gets handler None
        (the emulator is read-only); an unknown path keeps its own text as template."""
        segs = path.strip("/").split("/")
        other = None
        for m, template, scope, fn in self.routes:
            tsegs = template.strip("/").split("/")
            if len(tsegs) != len(segs) or any(t != s for t, s in zip(tsegs, segs) if not t.startswith("{")):
                continue
            params = {t[1:-1]: s for t, s in zip(tsegs, segs) if t.startswith("{")}
            if m == method:
                return template, scope, fn, params
            other = other or (template, scope, None, params)
        return other or (path, None, None, {})

    # ---- small lists ----------------------------------------------------------------------------------
    def me(self, req):
        hours = self.ws.tz_offset // 3600
        app = {"type": "app", "id_code": "emulator%032d" % self.ws.seed, "name": "Intercom emulator",
               "created_at": self.ws.clock - 400 * 86400, "secure": False, "identity_verification": False,
               "timezone": "UTC" if not hours else "Etc/GMT%+d" % -hours, "region": "US"}
        return 200, dict(admin_view(self.ws.admins[0], req.version), app=app)

    def admins(self, req):
        show = _bool(req.query.get("display_avatar"))
        return 200, {"type": "admin.list",
                     "admins": self.ex.each([admin_view(a, req.version, show) for a in self.ws.admins])}

    def admin(self, req):
        a = self.ws.admin_by_id.get(req.params["id"])
        if a is None:
            raise ApiError(404, "admin_not_found", "Admin not found")
        return 200, self.ex.apply(admin_view(a, req.version))

    def teams(self, req):
        return 200, {"type": "team.list", "teams": self.ex.each(self.ws.teams)}

    def tags(self, req):
        return 200, {"type": "list", "data": self.ex.each(list(self.ws.tags))}

    def segments(self, req):
        company = req.query.get("type") == "company"
        segs = self.ws.segment_list(company, _bool(req.query.get("include_count")))
        return 200, {"type": "segment.list", "segments": self.ex.each(segs)}

    def data_attributes(self, req):
        model = req.query.get("model")
        if model not in (None, "contact", "company", "conversation"):
            raise ApiError(400, "parameter_invalid", "model must be one of contact, company, conversation")
        data = self.ws.attributes(model, _bool(req.query.get("include_archived")))
        return 200, {"type": "list", "data": self.ex.each(data)}

    # ---- companies ------------------------------------------------------------------------------------
    def scroll(self, req):
        param = req.query.get("scroll_param")
        with self._scroll_lock:
            s, now = self._scroll, time.monotonic()
            if s and now - s["used"] > self.scroll_expiry:
                s = self._scroll = None  # idle too long: expired
            if not param:
                if s:
                    raise ApiError(400, "scroll_exists", "scroll already exists for this app")
                s = self._open_scroll()
            elif not s or s["param"] != param:
                raise ApiError(404, "not_found", "Scroll parameter not found or expired")
            data = self._scroll_page(s)
            if not data:
                self._scroll = None  # the end: the scroll parameter expires
            return 200, {"type": "list", "data": self.ex.each(data), "pages": None, "total_count": None,
                         "scroll_param": s["param"]}

    def _open_scroll(self):
        self._scroll = {"param": str(uuid.uuid4()), "ids": sorted(self.ws.companies), "pos": 0,
                        "used": time.monotonic()}
        return self._scroll

    def _scroll_page(self, s):
        data, store = [], self.ws.companies
        while len(data) < self.scroll_page_size and s["pos"] < len(s["ids"]):
            rec = store.get(s["ids"][s["pos"]])
            s["pos"] += 1
            if rec is not None:  # deleted since the scroll opened
                data.append(rec)
        s["used"] = time.monotonic()
        return data

    def open_scroll(self):
        """Control API: a scroll left open by a killed run (one page already fetched)."""
        with self._scroll_lock:
            s = self._open_scroll()
            self._scroll_page(s)
            return s["param"]

    def close_scroll(self):
        with self._scroll_lock:
            self._scroll = None

    def _sorted_companies(self, with_users, descending):
        key = (self.ws.versions["companies"], with_users, descending)
        ids = self._company_cache.get(key)
        if ids is None:
            recs = [c for c in self.ws.records("companies") if c["user_count"] > 0 or not with_users]
            recs.sort(key=lambda c: (c["last_request_at"] or 0, c["id"]), reverse=descending)
            ids = [c["id"] for c in recs]
            self._company_cache = {key: ids}
        return ids

    def _page_list(self, req, ids_or_records, default_per_page, lookup=None, cap=None, kind=None):
        """Page-number pagination: `next` is the URL of the next page, null on the last page."""
        page = page_number(req.query.get("page"))
        per_page = per_page_of(req.query.get("per_page"), default_per_page)
        total = len(ids_or_records)
        reachable = min(total, cap) if cap else total
        pages = -(-reachable // per_page)
        chunk = ids_or_records[(page - 1) * per_page:min(page * per_page, reachable)]
        data = [r for r in (lookup(x) for x in chunk) if r is not None] if lookup else chunk
        nxt = None
        if page < pages:
            q = dict(req.query, page=page + 1, per_page=per_page)
            nxt = "%s%s?%s" % (req.base_url, req.path, urlencode(q))
        return {"type": "list", "data": self.ex.each(data, kind), "total_count": total,
                "pages": {"type": "pages", "next": nxt, "page": page, "per_page": per_page, "total_pages": pages}}

    def companies_list(self, req):
        order = req.query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(400, "parameter_invalid", "order must be asc or desc")
        ids = self._sorted_companies(True, order == "desc")
        return 200, self._page_list(req, ids, 15, self.ws.companies.get, MAX_PAGED_COMPANIES)

    def companies_get(self, req):
        q = req.query
        filters = {k: q[k] for k in ("name", "company_id", "tag_id", "segment_id") if q.get(k)}
        ids = self._sorted_companies(False, True)
        if filters:
            seg = {s["id"]: f for s, f in self.ws.company_segments}.get(filters.get("segment_id"))
            def keep(c):
                return (c["name"] == filters.get("name", c["name"])
                        and c["company_id"] == filters.get("company_id", c["company_id"])
                        and ("tag_id" not in filters or any(t["id"] == filters["tag_id"] for t in c["tags"]["tags"]))
                        and ("segment_id" not in filters or (seg is not None and seg(c))))
            ids = [i for i in ids if i in self.ws.companies and keep(self.ws.companies[i])]
            if not ids:
                raise ApiError(404, "company_not_found", "Company Not Found")
        return 200, self._page_list(req, ids, 15, self.ws.companies.get, MAX_PAGED_COMPANIES)

    def company(self, req):
        c = self.ws.companies.get(req.params["id"])
        if c is None:
            raise ApiError(404, "company_not_found", "Company Not Found")
        return 200, self.ex.apply(c)

    # ---- contacts -------------------------------------------------------------------------------------
    def _contact_or_404(self, cid):
        c = self.ws.contacts.get(cid)
        if c is None:
            raise ApiError(404, "not_found", "User Not Found")
        return c

    def _cursor_page(self, kind, query, sort, per_page, starting_after, envelope, amend=None):
        recs, total, page, pages, nxt = self.searcher.page(kind, query, sort, per_page, starting_after)
        view = self.ws.contact_view if kind == "contacts" else None
        out = {"type": envelope[0], "total_count": total,
               "pages": {"type": "pages", "page": page, "per_page": per_page, "total_pages": pages}}
        if nxt:  # omitted on the last page, as in Intercom's contact/conversation examples
            out["pages"]["next"] = {"page": page + 1, "starting_after": nxt}
        fragments = [self.fragments.get(r, view) for r in recs]
        if amend:  # a route that adds to each served record (newer.py: a user's merge_history)
            fragments = [amend(r, f) for r, f in zip(recs, fragments)]
        return 200, RawList(out, envelope[1], fragments)

    def _search(self, req, kind, envelope, default_per_page, amend=None):
        body = req.body
        if not isinstance(body, dict):
            raise ApiError(400, "parameter_invalid", "The request body must be a JSON object")
        if "query" not in body:
            raise ApiError(400, "parameter_not_found", "query parameter is required")
        pagination = body.get("pagination") or {}
        if not isinstance(pagination, dict):
            raise ApiError(400, "parameter_invalid", "pagination must be an object")
        sort = sort_spec(body.get("sort"), ("created_at", "descending"))
        per_page = per_page_of(pagination.get("per_page"), default_per_page)
        return self._cursor_page(kind, body["query"], sort, per_page, pagination.get("starting_after"), envelope,
                                 amend)

    def contacts_search(self, req, amend=None):
        return self._search(req, "contacts", ("list", "data"), 50, amend)

    def contacts_list(self, req):
        per_page = per_page_of(req.query.get("per_page"), 50)
        return self._cursor_page("contacts", None, ("id", "ascending"), per_page,
                                 req.query.get("starting_after"), ("list", "data"))

    def contact(self, req):
        return 200, self.ex.apply(self.ws.contact_view(self._contact_or_404(req.params["id"])))

    def contact_tags(self, req):
        self._contact_or_404(req.params["id"])
        return 200, {"type": "list", "data": self.ex.each(self.ws.contact_tags(req.params["id"]))}

    def contact_companies(self, req):
        self._contact_or_404(req.params["id"])
        return 200, self._page_list(req, self.ws.contact_companies(req.params["id"]), 50)

    def contact_notes(self, req):
        self._contact_or_404(req.params["id"])
        return 200, self._page_list(req, self.ws.contact_notes(req.params["id"]), 50)

    def note(self, req):
        n = self.ws.notes.get(req.params["id"])
        if n is None:
            raise ApiError(404, "not_found", "Resource Not Found")
        return 200, self.ex.apply(n)

    # ---- conversations --------------------------------------------------------------------------------
    def conversations_search(self, req):
        return self._search(req, "conversations", ("conversation.list", "conversations"), 20)

    def conversations_list(self, req):
        per_page = per_page_of(req.query.get("per_page"), 20)
        return self._cursor_page("conversations", None, ("updated_at", "descending"), per_page,
                                 req.query.get("starting_after"), ("conversation.list", "conversations"))

    def deleted_conversations(self, req):
        if not since_2_16(req.version):
            raise ApiError(400, "intercom_version_invalid",
                           "Requested resource is not available in current API version.")
        order = req.query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(400, "parameter_invalid", "order must be asc or desc")
        with self.ws.lock:
            recs = sorted(self.ws.deleted_conversations.values(), key=lambda r: (r["deleted_at"], r["id"]),
                          reverse=order == "desc")
        req.query = dict(req.query, per_page=min(60, per_page_of(req.query.get("per_page"), 20)))
        page = self._page_list(req, recs, 20, kind="deleted_conversation")
        return 200, {"type": "conversations.list", "conversations": page["data"],
                     "total_count": page["total_count"], "pages": page["pages"]}

    def conversation(self, req):
        cid = req.params["id"]
        conv = self.ws.conversations.get(cid)
        if conv is None:
            raise ApiError(404, "not_found", "Resource Not Found")
        return 200, self.conversation_view(conv, req.query.get("display_as") == "plaintext")

    def conversation_view(self, conv, plain=False):
        parts = self.ws.recent_parts(conv["id"])
        if plain:
            parts = [dict(p, body=plaintext(p["body"])) for p in parts]
            src = conv["source"]
            conv = dict(conv, source=dict(src, body=plaintext(src["body"]), subject=plaintext(src["subject"])))
        total = len(self.ws.parts.get(conv["id"], []))
        parts = self.ex.each(parts)
        return dict(self.ex.apply(conv), conversation_parts={"type": "conversation_part.list", "conversation_parts": parts,
                                              "total_count": total})

