"""Endpoints Intercom serves from 2.14 or 2.16 on: calls (and their transcripts, pending then completed), macros,
internal articles, away status reasons, office hours schedules, conversation attributes, custom object
instances, conversations' handling events, contacts' merge history and the 410 Gone of a merged contact.

Each answers 400 intercom_version_invalid under an older Intercom-Version, as Intercom does. Shapes and paging
follow the 2.16 spec: calls page/per_page (at most 25); macros newest first by updated_at (ISO 8601 text), a
Base64 [updated_at, id] cursor and `updated_since`; internal articles and custom object instances page/per_page
with total_pages; the other lists unpaged. Drawn from their own RNG: the rest of a seed's workspace is unchanged.
"""
import base64
import datetime
import json
import random
import uuid

from .answers import ApiError, RawList, page_number
from .generate import DAY, PHRASES, pick
from .search import per_page_of

V214, V216 = (2, 14), (2, 16)
CUSTOM_OBJECT_TYPES = {"Order": 33, "Product": 4}
REASONS = [("On a break", "☕"), ("In a meeting", "📅"), ("Off for the day", "🌙"), ("Old reason", "🗑"),
           ("Lunch", "🥪")]  # away status reasons; the fourth is deleted
STREAMS = {"calls", "macros", "handling_events", "custom_object_instances"}  # what mutate() changes


def _at_least(version, wanted):
    major, _, minor = version.partition(".")
    return not major.isdigit() or (minor.isdigit() and (int(major), int(minor)) >= wanted)


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(code, message):
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}


class Newer:
    def __init__(self, ws, calls=45, macros=70, internal_articles=30):
        self.ws, r = ws, random.Random(ws.seed * 917 + 11)
        self.r = r
        g, admins = ws.gen, ws.admins
        self.merged = {}  # merged contact id -> {"into", "role", "merged_at"} (workspace._merge)
        conversations = sorted(ws.conversations)
        users = sorted(i for i, c in ws.contacts.items() if c["role"] == "user")
        self.calls = {}
        for i in range(calls):
            at = g.lo + int(r.random() * (g.hi - g.lo))
            conv = conversations[i % len(conversations)] if conversations and i % 5 else None
            answered = i % 4 != 0
            status = ("completed", "pending", None)[i % 3] if answered else None
            if status == "pending":  # transcripts take minutes to make: the pending ones are of recent calls
                at = g.hi - 3600 * (1 + i % 12)
            call = {"type": "call", "id": str(5000 + i), "conversation_id": conv,
                    "admin_id": admins[i % len(admins)]["id"] if answered else None,
                    "contact_id": users[i % len(users)] if users else None,
                    "state": "completed" if answered else "missed", "initiated_at": at,
                    "answered_at": at + 12 if answered else None, "ended_at": at + 12 + 60 * (i % 9),
                    "created_at": at, "updated_at": at + 12 + 60 * (i % 9),
                    "recording_url": "https://api.intercom.io/calls/%d/recording" % (5000 + i) if answered else None,
                    "transcription_url": "https://api.intercom.io/calls/%d/transcript" % (5000 + i)
                    if status else None, "call_type": "phone", "direction": ("inbound", "outbound")[i % 2],
                    "ended_reason": "completed" if answered else "no_answer", "phone": "+1555%07d" % i,
                    "fin_recording_url": None, "fin_transcription_url": None}
            self.calls[call["id"]] = {"call": call, "status": status, "transcript": self._transcript(i, status)}
        self.macros = {}
        for i in range(macros):
            self._put_macro(str(100 + i), g.lo + int(r.random() * (g.hi - g.lo)), i)
        self.internal_articles = []
        for i in range(internal_articles):
            at = g.lo + int(r.random() * (g.hi - g.lo))
            self.internal_articles.append({
                "type": "internal_article", "id": str(700 + i), "title": "Internal guide %d" % i,
                "body": "<p>%s</p>" % pick(r, PHRASES), "body_markdown": pick(r, PHRASES),
                "owner_id": int(admins[i % len(admins)]["id"]), "author_id": int(admins[(i + 1) % len(admins)]["id"]),
                "created_at": at - DAY, "updated_at": at, "locale": "en", "audience_ids": [str(i % 3)],
                "ai_chatbot_availability": i % 2 == 0, "ai_copilot_availability": True,
                "ai_sales_agent_availability": False})
        made = g.lo + 5 * DAY
        self.away_status_reasons = [
            {"type": "away_status_reason", "id": str(12344 + i),  # admins' away_status_reason_id joins them "label": label, "emoji": emoji, "order": i + 1,
             "deleted": i == 3, "created_at": made + i, "updated_at": made + i * DAY}
            for i, (label, emoji) in enumerate(REASONS)]
        self.office_hours = [
            {"type": "office_hours_schedule", "id": str(31 + i), "name": name, "time_zone_name": tz,
             "time_intervals": [{"start_minute": d * 1440 + 540, "end_minute": d * 1440 + 1020, "day_of_week": d}
                                for d in range(days)], "twenty_four_seven": False,
             "created_at": made, "updated_at": made + i}
            for i, (name, tz, days) in enumerate([("Standard Support Hours", "America/New_York", 5),
                                                  ("Weekend cover", "Europe/Dublin", 2)])]
        self.office_hours.append({"type": "office_hours_schedule", "id": "33", "name": "Always on",
                                  "time_zone_name": "UTC", "time_intervals": [], "twenty_four_seven": True,
                                  "created_at": made, "updated_at": made})
        self.conversation_attributes = [
            {"type": "conversation_attribute", "id": 1, "name": "Issue type", "description": "", "data_type": "list",
             "required": False, "visible_to_team_ids": [], "archived": False, "created_at": made, "updated_at": made,
             "admin_id": admins[0]["id"], "options": [{"id": "opt-%d" % k, "label": label, "archived": k == 2}
                                                     for k, label in enumerate(["bug", "question", "old"])]},
            {"type": "conversation_attribute", "id": 2, "name": "Order ref", "description": "The order",
             "data_type": "relationship", "required": False, "visible_to_team_ids": [], "archived": False,
             "created_at": made, "updated_at": made, "admin_id": admins[0]["id"],
             "reference": {"type": "many", "object_type_id": "Order"}},
            {"type": "conversation_attribute", "id": 3, "name": "Notes", "description": "", "data_type": "string",
             "required": True, "visible_to_team_ids": [str(t["id"]) for t in ws.teams[:1]], "archived": False,
             "created_at": made, "updated_at": made + DAY, "admin_id": admins[-1]["id"], "multiline": True},
            {"type": "conversation_attribute", "id": 4, "name": "Legacy score", "description": "", "data_type":
             "integer", "required": False, "visible_to_team_ids": [], "archived": True, "created_at": made,
             "updated_at": made + 2 * DAY, "admin_id": admins[0]["id"]}]
        self.custom_objects = {}
        for kind, count in CUSTOM_OBJECT_TYPES.items():
            self.custom_objects[kind] = [self._instance(kind, k) for k in range(count)]
        self.handling = {}  # conversation id -> events, oldest first
        for k, conv in enumerate(conversations):
            if k % 3 != 2:
                self.handling[conv] = self._events(conv, ws.conversations[conv]["created_at"], 1 + k % 2)

    # ---- generation -----------------------------------------------------------------------------------
    def _transcript(self, i, status):
        if status != "completed":
            return []
        return [{"speaker": ("admin", "user")[k % 2], "text": pick(self.r, PHRASES), "start_seconds": 4 * k}
                for k in range(2 + i % 3)]

    def _put_macro(self, mid, at, i):
        self.macros[mid] = {
            "type": "macro", "id": mid, "name": "Saved reply %s" % mid,
            "body": "<p>Hi <attribute key=\"user.name\" default=\"there\"/>, %s</p>" % pick(self.r, PHRASES),
            "body_text": "Hi {{user.name|fallback:\"there\"}}, reply %s" % mid, "created_at": iso(at - DAY),
            "updated_at": iso(at), "visible_to": ("everyone", "specific_teams")[i % 2],
            "visible_to_team_ids": [] if i % 2 == 0 else [str(t["id"]) for t in self.ws.teams[:2]],
            "available_on": ["inbox", "messenger"][:1 + i % 2], "_at": at}

    def _instance(self, kind, k, at=None):
        at = at if at is not None else self.ws.gen.lo + int(self.r.random() * (self.ws.gen.hi - self.ws.gen.lo))
        return {"id": str(900 + k), "type": kind, "custom_attributes": {"number": "%s-%05d" % (kind.upper(), k),
                                                                        "total_amount": round(10 + 3.7 * k, 2)},
                "external_id": "%s_%03d" % (kind.lower(), k), "external_created_at": at if k % 2 else None,
                "external_updated_at": at if k % 2 else None, "created_at": at, "updated_at": at}

    def _events(self, conv, start, pairs):
        admins, out = self.ws.admins, []
        for p in range(pairs):
            admin = admins[(int(conv) + p) % len(admins)]
            mate = {"type": "admin", "id": int(admin["id"]), "name": admin["name"], "email": admin["email"]}
            at = start + 3600 * (p + 1)
            out.append({"teammate": mate, "type": "paused", "timestamp": iso(at), "reason": "Paused"})
            out.append({"teammate": mate, "type": "resumed", "timestamp": iso(at + 600), "reason": None})
        return out

    # ---- mutations (control API: {"action": ..., "stream": calls|macros|handling_events|...}) -----------
    def mutate(self, action, body, ts):
        stream = body.get("stream")
        if stream == "macros" and action == "update":
            ids = [str(i) for i in body.get("ids") or sorted(self.macros)[:int(body.get("count", 1))]]
            for k, mid in enumerate(ids):
                self._put_macro(mid, ts, k)
            return ids
        if stream == "macros" and action == "create":
            ids = [str(100 + len(self.macros) + k) for k in range(int(body.get("count", 1)))]
            for k, mid in enumerate(ids):
                self._put_macro(mid, ts, k)
            return ids
        if stream == "macros" and action == "delete":
            ids = [str(i) for i in body.get("ids") or []]
            for mid in ids:
                self.macros.pop(mid, None)
            return ids
        if stream == "calls" and action == "complete_transcripts":  # pending transcripts become available
            ids = [cid for cid, c in sorted(self.calls.items()) if c["status"] == "pending"]
            for cid in ids:
                c = self.calls[cid]
                c["status"], c["transcript"] = "completed", self._transcript(int(cid), "completed")
            return ids
        if stream == "calls" and action == "create":
            conv = str(body["conversation_id"]) if body.get("conversation_id") else None
            cid = str(5000 + len(self.calls))
            call = dict(next(iter(self.calls.values()))["call"], id=cid, conversation_id=conv, created_at=ts,
                        initiated_at=ts, updated_at=ts)
            self.calls[cid] = {"call": call, "status": "pending", "transcript": []}
            return [cid]
        if stream == "handling_events" and action == "create":
            # A teammate paused and resumed the conversations: they are updated, so their search finds them again.
            ids = [str(i) for i in body.get("ids") or []]
            for conv in ids:
                self.handling[conv] = self.handling.get(conv, []) + self._events(conv, ts - 7200, 1)
                self.ws.conversations[conv] = dict(self.ws.conversations[conv], updated_at=ts)
            self.ws._bump("conversations")
            return ids
        if stream == "custom_object_instances" and action == "create":
            kind = body.get("type") or "Order"
            rows = self.custom_objects.setdefault(kind, [])
            ids = []
            for _ in range(int(body.get("count", 1))):
                rows.append(self._instance(kind, len(rows), ts))
                ids.append(rows[-1]["id"])
            return ids
        raise ValueError("newer: unknown change %r of %r" % (action, stream))

    def merge(self, ids, into, ts):
        for i in ids:
            self.merged[i] = {"into": into, "role": self.ws.contacts[i]["role"], "merged_at": ts}

    def merge_histories(self):
        """{user id: its merge_history as JSON bytes} for every user something was merged into."""
        out = {}
        for i, m in sorted(self.merged.items()):
            out.setdefault(m["into"], []).append({"type": "merge_history", "source_contact_id": i,
                                                 "source_contact_role": m["role"], "merged_at": m["merged_at"]})
        return {k: json.dumps(v, separators=(",", ":")).encode() for k, v in out.items()}

    # ---- truth ------------------------------------------------------------------------------------------
    def truth(self):
        ws = self.ws
        return {
            "calls": [self.calls[i]["call"] for i in sorted(self.calls)],
            "call_transcripts": [{"call_id": i, "conversation_id": c["call"]["conversation_id"],
                                  "transcript": c["transcript"], "transcript_status": c["status"],
                                  "call_created_at": c["call"]["created_at"]}
                                 for i, c in sorted(self.calls.items()) if c["call"]["conversation_id"]],
            "macros": [self._macro_view(self.macros[i]) for i in sorted(self.macros)],
            "internal_articles": sorted(self.internal_articles, key=lambda a: a["id"]),
            "away_status_reasons": list(self.away_status_reasons),
            "office_hours_schedules": list(self.office_hours),
            "conversation_attributes": list(self.conversation_attributes),
            "custom_object_instances": [x for kind in sorted(self.custom_objects) for x in self.custom_objects[kind]],
            "conversation_handling_events": [
                dict(e, conversation_id=conv, teammate_id=str(e["teammate"]["id"]))
                for conv in sorted(self.handling) if conv in ws.conversations for e in self.handling[conv]],
            "contact_merges": [{"id": i, "merged_into_id": m["into"], "role": m["role"], "merged_at": m["merged_at"]}
                               for i, m in sorted(self.merged.items()) if m["into"] in ws.contacts]}

    @staticmethod
    def _macro_view(macro):
        return {k: v for k, v in macro.items() if k != "_at"}


def _page(req, records, default_per_page, most):
    page = page_number(req.query.get("page"))
    per_page = min(most, per_page_of(req.query.get("per_page"), default_per_page))
    total_pages = -(-len(records) // per_page)
    return {"type": "list", "data": records[(page - 1) * per_page:page * per_page], "total_count": len(records),
            "pages": {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}}


def routes(api):
    """(method, template, scope, handler) for these endpoints; ahead of the others, so the contact routes
    here (merge history, 410) win."""
    ws = api.ws
    newer = ws.newer

    def since(version, handler):
        def handle(req):
            if not _at_least(req.version, version):
                raise ApiError(400, "intercom_version_invalid",
                               "Requested resource is not available in current API version.")
            return handler(req)
        return handle

    def calls(req):
        with ws.lock:
            records = [newer.calls[i]["call"] for i in sorted(newer.calls, key=int)]
        return 200, _page(req, records, 25, 25)

    def calls_search(req):
        ids = (req.body or {}).get("conversation_ids") if isinstance(req.body, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
            raise ApiError(400, "conversation_id_limit_exceeded", "A list of up to 20 conversation IDs is required")
        wanted = {str(i) for i in ids}
        with ws.lock:
            data = [dict(c["call"], transcript=c["transcript"], transcript_status=c["status"])
                    for _, c in sorted(newer.calls.items()) if c["call"]["conversation_id"] in wanted]
        return 200, {"type": "list", "data": data}

    def macros(req):
        try:
            floor = int(req.query["updated_since"]) if req.query.get("updated_since") not in (None, "") else None
        except ValueError:
            raise ApiError(400, "parameter_invalid", "updated_since must be a UNIX timestamp")
        per_page = min(150, per_page_of(req.query.get("per_page"), 50))
        with ws.lock:
            items = sorted(newer.macros.values(), key=lambda m: (m["_at"], m["id"]), reverse=True)
        if floor is not None:
            items = [m for m in items if m["_at"] > floor]
        if req.query.get("starting_after"):
            try:
                at, mid = json.loads(base64.b64decode(req.query["starting_after"]).decode())
            except (ValueError, TypeError, UnicodeError):
                raise ApiError(400, "parameter_invalid", "starting_after is invalid")
            items = [m for m in items if (m["_at"], m["id"]) < (int(at), mid)]
        page, more = items[:per_page], len(items) > per_page
        nxt = None
        if more:
            last = page[-1]
            nxt = {"starting_after": base64.b64encode(json.dumps([float(last["_at"]), last["id"]]).encode()).decode()}
        return 200, {"type": "list", "data": [Newer._macro_view(m) for m in page],
                     "pages": {"type": "pages", "per_page": per_page, "next": nxt}}

    def internal_articles(req):
        return 200, _page(req, newer.internal_articles, 25, 150)

    def away_status_reasons(req):
        return 200, {"type": "list", "data": list(newer.away_status_reasons)}

    def office_hours(req):
        return 200, {"type": "office_hours_schedule.list", "data": list(newer.office_hours)}

    def conversation_attributes(req):
        archived = str(req.query.get("include_archived")).lower() in ("1", "true")
        return 200, {"type": "list", "data": [a for a in newer.conversation_attributes
                                              if archived or not a["archived"]]}

    def custom_objects(req):
        kind = req.params["type"]
        if kind not in newer.custom_objects:
            raise ApiError(404, "not_found", "Custom object type %s not found" % kind)
        return 200, _page(req, list(newer.custom_objects[kind]), 20, 150)

    def handling_events(req):
        conv = req.params["id"]
        if conv not in ws.conversations:
            raise ApiError(404, "not_found", "Resource Not Found")
        return 200, {"handling_events": list(newer.handling.get(conv, []))}

    def gone_or(handler):
        """2.16: a merged contact's id answers 410 Gone, with a Link to the contact it was merged into."""
        def handle(req):
            merge = newer.merged.get(req.params["id"])
            if merge is not None and _at_least(req.version, V216):
                return (410, _error("contact_merged", "This contact has been merged. See the 'Link' header for "
                                                      "the canonical contact."),
                        {"Link": '</contacts/%s>; rel="canonical"' % merge["into"]})
            return handler(req)
        return handle

    def contacts_search(req):
        wanted = str(req.query.get("include_merge_history")).lower() == "true" and _at_least(req.version, V216)
        if not wanted:
            return api.contacts_search(req)
        with ws.lock:
            histories = newer.merge_histories()

        def with_history(rec, raw):
            """The served contact with `merge_history` added as its last key: its cached JSON with the list
            spliced in before the closing brace (the same bytes as decoding, adding and encoding again)."""
            if rec.get("role") != "user":  # "Only returned for contacts with a user role"
                return raw
            return b"".join((raw[:-1], b',"merge_history":', histories.get(rec["id"], b"[]"), b"}"))
        return api.contacts_search(req, with_history)

    return [("GET", "/calls", "read_calls", since(V214, calls)),
            ("POST", "/calls/search", "read_calls", since(V214, calls_search)),
            ("GET", "/macros", "read_macros", since(V216, macros)),
            ("GET", "/internal_articles", "read_articles", since(V214, internal_articles)),
            ("GET", "/away_status_reasons", "read_admins", since(V214, away_status_reasons)),
            ("GET", "/office_hours_schedules", "read_admins", since(V216, office_hours)),
            ("GET", "/conversations/attributes", "read_conversations", since(V216, conversation_attributes)),
            ("GET", "/custom_object_instances/{type}", "read_custom_objects", since(V216, custom_objects)),
            ("GET", "/conversations/{id}/handling_events", "read_conversations", since(V216, handling_events)),
            ("POST", "/contacts/search", "read_users_companies", contacts_search),
            ("GET", "/contacts/{id}", "read_users_companies", gone_or(api.contact)),
            ("GET", "/contacts/{id}/tags", "read_users_companies", gone_or(api.contact_tags)),
            ("GET", "/contacts/{id}/companies", "read_users_companies", gone_or(api.contact_companies)),
            ("GET", "/contacts/{id}/notes", "read_users_companies", gone_or(api.contact_notes))]
