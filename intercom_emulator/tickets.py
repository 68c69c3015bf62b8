"""Tickets: ticket types (custom attributes of every data type), ticket states, tickets with their parts (one
over the 500-part cap), POST /tickets/search, GET /tickets/{id}, /ticket_types, /ticket_states, and the ticket
mutations. Drawn from their own RNG, so adding tickets leaves the rest of a seed's workspace unchanged."""
import random

from .answers import ApiError
from .generate import DAY, PHRASES, pick

MAX_PARTS = 500  # GET /tickets/{id} returns only the 500 most recent parts, as for conversations
STATES = [("submitted", "Submitted", "Submitted"), ("in_progress", "In progress", "In progress"),
          ("waiting_on_customer", "Waiting on customer", "Waiting on you"), ("resolved", "Resolved", "Resolved")]
# (name, data_type, input_options, a value maker): every data type a ticket attribute can have
ATTRIBUTES = [
    ("_default_title_", "string", {"multiline": False},
     lambda r, t: "Ticket about %s" % pick(r, ["login", "billing", "export"])),
    ("_default_description_", "string", {"multiline": True},
     lambda r, t: None if r.random() < 0.2 else "<p>%s</p>" % pick(r, PHRASES)),
    ("Priority level", "list", {"list_options": [{"id": "1", "label": "Low"}, {"id": "2", "label": "High"}]},
     lambda r, t: pick(r, ["Low", "High"])),
    ("Story points", "integer", None, lambda r, t: int(r.random() * 13)),
    ("Estimate (h)", "decimal", None, lambda r, t: round(r.random() * 40, 2)),
    ("Customer-facing?", "boolean", None, lambda r, t: r.random() < 0.5),
    ("Due date", "datetime", None, lambda r, t: t + int(r.random() * 14 * DAY)),
    ("Screenshots", "files", None,
     lambda r, t: [{"type": "upload", "name": "screen.png", "url": "https://files.example.com/t%d.png" % t,
                    "content_type": "image/png", "filesize": 20480, "width": 640, "height": 480}]
     if r.random() < 0.3 else []),
]
TYPES = [("Bug Report", "Customer", "🐞"), ("Feature Request", "Customer", "💡"),
         ("Billing dispute", "Back-office", "💳"), ("Incident", "Tracker", "🚨")]


class Ticketing:
    """The ticket part of a workspace: `ws.tickets` (id -> ticket as search serves it), `ws.ticket_parts`."""

    def __init__(self, ws, n):
        self.ws, self.rng = ws, random.Random(ws.seed * 977 + 13)
        self.counters = {"ticket": 300000000, "number": 0, "part": 50000000}
        g, workspace_id = ws.gen, ws.gen.app_id
        made = g.lo
        self.states = [{"type": "ticket_state", "id": str(8000 + i), "category": c, "internal_label": a,
                        "external_label": b} for i, (c, a, b) in enumerate(STATES)]
        self.types = []
        for i, (name, category, icon) in enumerate(TYPES):
            tid = str(60 + i)
            attrs = [{"type": "ticket_type_attribute", "id": str(160 + 10 * i + j), "workspace_id": workspace_id,
                      "name": an, "description": "" if an.startswith("_") else "%s of the ticket" % an,
                      "data_type": dt, "input_options": opts, "order": j, "required_to_create": j == 0,
                      "required_to_create_for_contacts": False, "visible_on_create": True,
                      "visible_to_contacts": j < 3, "default": an.startswith("_"), "ticket_type_id": int(tid),
                      "archived": False, "created_at": made, "updated_at": made}
                     for j, (an, dt, opts, _) in enumerate(ATTRIBUTES if i < 2 else ATTRIBUTES[:3])]
            self.types.append({"type": "ticket_type", "id": tid, "category": category, "name": name,
                               "description": "%s template" % name, "icon": icon, "workspace_id": workspace_id,
                               "archived": i == 3, "created_at": made, "updated_at": made, "is_internal": i == 2,
                               "ticket_type_attributes": {"type": "list", "data": attrs}})
        ws.tickets, ws.ticket_parts = {}, {}
        people = sorted(ws.contacts)
        for i in range(n if people else 0):
            # Tickets 0 and 1 have more parts than the API returns (the 500 cap).
            parts = 501 + int(self.rng.random() * 30) if i < 2 else 1 + int(self.rng.random() * 6)
            self.create(g.lo + int(self.rng.random() * (g.hi - g.lo)), parts)

    def _next(self, kind):
        self.counters[kind] += 1
        return str(self.counters[kind])

    # ---- records -------------------------------------------------------------------------------------
    def create(self, made, n_parts=1):
        ws, r = self.ws, self.rng
        ttype = self.types[int(r.random() * len(self.types))]
        people = sorted(ws.contacts)
        contact = ws.contacts[people[int(r.random() * len(people))]]
        admin = ws.admins[int(r.random() * len(ws.admins))]
        attributes = ATTRIBUTES[:len(ttype["ticket_type_attributes"]["data"])]
        ticket = {"type": "ticket", "id": self._next("ticket"), "ticket_id": self._next("number"),
                  "category": ttype["category"], "ticket_attributes": {a[0]: a[3](r, made) for a in attributes},
                  "ticket_state": None, "ticket_type": ttype,
                  "contacts": {"type": "contact.list", "contacts": [
                      {"type": "contact", "id": contact["id"], "external_id": contact.get("external_id")}]},
                  # assignee ids are strings, "0" when unassigned (API-NOTES 10)
                  "admin_assignee_id": "0" if int(self.counters["number"]) % 5 == 0 else admin["id"],
                  "team_assignee_id": ws.teams[0]["id"] if r.random() < 0.5 else "0",
                  "created_at": made, "updated_at": made, "open": True,
                  "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
                  "is_shared": ttype["category"] == "Customer"}
        if r.random() < 0.2:  # the spec's snoozed_until is not nullable: absent unless snoozed
            ticket["snoozed_until"] = made + DAY
        ws.ticket_parts[ticket["id"]] = []
        span = max(1, ws.gen.hi - made)
        self._store(ticket, [made + (span * k) // (n_parts + 1) for k in range(n_parts)], admin)
        return ticket["id"]

    def _store(self, ticket, times, admin, state=None):
        """Append parts at `times` (a state change each, sometimes a comment) and set updated_at to the last."""
        parts, r = self.ws.ticket_parts[ticket["id"]], self.rng
        current = (ticket["ticket_state"] or {}).get("category", "submitted")
        for at in times:
            before = current
            current = state or (current if r.random() < 0.6 else pick(r, STATES)[0])
            comment = r.random() < 0.5
            part = {"type": "ticket_part", "id": self._next("part"),
                    "part_type": "comment" if comment else "ticket_state_updated_by_admin",
                    "body": "<p>%s</p>" % pick(r, PHRASES) if comment else None,
                    "previous_ticket_state": before, "ticket_state": current, "created_at": at, "updated_at": at,
                    "author": {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"]},
                    "attachments": [], "external_id": None, "redacted": False, "updated_attribute_data": None}
            if r.random() < 0.1:  # the spec's assigned_to and app_package_code are not nullable: absent or set
                part.update(assigned_to={"type": "admin", "id": admin["id"]}, app_package_code="test-integration")
            parts.append(part)
        last = times[-1] if times else ticket["updated_at"]
        state_rec = next(s for s in self.states if s["category"] == current)
        self.ws.tickets[ticket["id"]] = dict(ticket, ticket_state=state_rec, open=current != "resolved",
                                             updated_at=max(last, ticket["updated_at"]))

    # ---- mutations (POST /_emulator/mutate with "stream": "tickets") ---------------------------------
    def update(self, ids, ts):
        for i in ids:
            t = self.ws.tickets[i]
            attrs = dict(t["ticket_attributes"], _default_title_="Updated ticket %s @%d" % (i, ts))
            self.ws.tickets[i] = dict(t, ticket_attributes=attrs, updated_at=ts)

    def add_parts(self, ids, count, ts):
        before = {i: len(self.ws.ticket_parts[i]) for i in ids}
        for i in ids:
            admin = self.ws.admin_by_id.get(self.ws.tickets[i]["admin_assignee_id"], self.ws.admins[0])
            self._store(self.ws.tickets[i], [ts] * count, admin)
        return [p["id"] for i in ids for p in self.ws.ticket_parts[i][before[i]:]]

    # ---- API ---------------------------------------------------------------------------------------------
    def detail(self, tid):
        """GET /tickets/{id}: the ticket with its 500 most recent parts."""
        parts = self.ws.ticket_parts.get(tid, [])
        ex = self.ws.extras
        listing = {"type": "ticket_part.list", "ticket_parts": ex.each(parts[-MAX_PARTS:]), "total_count": len(parts)}
        return dict(ex.apply(self.ws.tickets[tid]), ticket_parts=listing)

    def ticket_states(self):
        types = [{k: t[k] for k in ("type", "id", "name", "description", "icon", "archived", "is_internal",
                                    "category")} for t in self.types]
        return [dict(s, archived=False, ticket_types={"type": "list", "data": types}) for s in self.states]

    def truth(self):
        ws = self.ws
        parts = [dict(p, ticket_id=tid) for tid in sorted(ws.tickets) for p in ws.ticket_parts[tid][-MAX_PARTS:]]
        return {"tickets": [ws.tickets[i] for i in sorted(ws.tickets)], "ticket_parts": parts,
                "ticket_types": list(self.types), "ticket_states": self.ticket_states(),
                "cut_tickets": sorted(i for i, p in ws.ticket_parts.items() if len(p) > MAX_PARTS)}


def routes(api):
    """(method, template, scope, handler) for the ticket endpoints."""

    def search(req):
        return api._search(req, "tickets", ("ticket.list", "tickets"), 20)

    def ticket(req):
        if req.params["id"] not in api.ws.tickets:
            raise ApiError(404, "ticket_not_found", "Ticket not found")
        return 200, api.ws.ticketing.detail(req.params["id"])

    def types(req):
        return 200, {"type": "list", "data": api.ex.each(api.ws.ticketing.types)}

    def states(req):
        return 200, {"type": "list", "data": api.ex.each(api.ws.ticketing.ticket_states())}

    return [("POST", "/tickets/search", "read_tickets", search), ("GET", "/tickets/{id}", "read_tickets", ticket),
            ("GET", "/ticket_types", "read_tickets", types), ("GET", "/ticket_states", "read_tickets", states)]
