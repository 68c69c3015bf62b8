"""The workspace: all records, the views the API serves, mutations and the ground truth.

Companies and conversations are stored exactly as the API serves them; contacts are stored without their
tags/companies/notes lists, which `contact_view` adds from `lists`. Records are never changed in place: a
mutation stores a changed copy, so a request thread serialising the old dict is never disturbed
(copy-on-write instead of read locks), and object identity tells caches whether a record changed.
"""
import random
import threading
import time

from . import links
from .content import Content
from .newer import STREAMS as NEWER_STREAMS, Newer
from .generate import DAY, Generator
from .tickets import Ticketing
from .extras import Extras

MAX_EMBEDDED = 10  # contact tags/companies/notes embed at most 10 items (has_more says there are more)
MAX_PARTS = 500    # GET /conversations/{id} returns only the 500 most recent parts
KINDS = ("contacts", "companies", "conversations", "tickets")
NO_LISTS = {"tags": [], "companies": [], "notes": [], "opted_in": (), "opted_out": ()}
# Subscription types (content.py) a contact opted out of (the opt-out types) or into (the opt-in one).
OPT_OUTS = [(), ("135",), ("135", "137"), ("137",)]
OPT_INS = [(), ("136",)]


class MutationError(ValueError):
    pass


def distinct(r, n, k):
    """k distinct indices below n (random.sample is several times slower for these tiny draws)."""
    if k >= n:
        return list(range(n))
    seen = []
    while len(seen) < k:
        j = int(r() * n)
        if j not in seen:
            seen.append(j)
    return seen


class Workspace:
    def __init__(self, seed=7, contacts=500, companies=100, conversations=150, clock=0, tz_offset_hours=0,
                 tickets=40, activity_logs=400):
        self.seed, self.clock = seed, int(clock)
        self.tz_offset = int(round(float(tz_offset_hours) * 3600))
        self._t0 = time.monotonic()
        self.lock = threading.RLock()
        self.versions = {k: 0 for k in KINDS}
        self._seg_counts = {}
        self.extras = Extras()  # fields configured to appear on served objects (control API)
        self.gen = g = Generator(seed, self.clock)
        self.mut_rng = random.Random(seed * 31 + 5)
        self.admins = g.admins()
        self.admin_by_id = {a["id"]: a for a in self.admins}
        self.teams = g.teams(self.admins)
        self.tags = g.tags()
        self.tag_by_id = {t["id"]: t for t in self.tags}
        self.data_attributes = g.data_attributes(self.admins)
        self.contact_date_attrs = {a["name"] for a in self.data_attributes
                                   if a["model"] == "contact" and a["custom"] and a["data_type"] == "date"}
        self._make_segments()
        self.companies = {}
        for _ in range(companies):
            self._put_company(g.company(self.tags))
        self.contacts, self.lists, self.notes = {}, {}, {}
        self._make_contacts(contacts)
        self.conversations, self.parts = {}, {}
        self.deleted_conversations = {}  # id -> {type, id, deleted_at, metrics_retained}: GET /conversations/deleted
        self._make_conversations(conversations)
        self.ticketing = Ticketing(self, tickets)  # sets self.tickets and self.ticket_parts
        self._link_tickets()
        self.content = Content(self, activity_logs)
        self.newer = Newer(self)  # calls, macros, handling events, merges...: endpoints of 2.14-2.16

    # ---- generation -----------------------------------------------------------------------------------
    def _make_segments(self):
        g, recent = self.gen, self.clock - 30 * DAY
        person = [
            ("All users", "user", lambda c: c["role"] == "user"),
            ("Active users", "user", lambda c: c["role"] == "user" and (c["last_seen_at"] or 0) >= recent),
            ("Paid subscribers", "user", lambda c: c["custom_attributes"].get("paid_subscriber") is True),
            ("All leads", "contact", lambda c: c["role"] == "lead"),
            ("Unsubscribed leads", "contact", lambda c: c["role"] == "lead" and c["unsubscribed_from_emails"]),
            ("Nobody yet ✓", "user", lambda c: False)]
        company = [("Big companies", lambda c: c["size"] >= 1000),
                   ("High spend", lambda c: c["monthly_spend"] >= 2500),
                   ("Software industry", lambda c: c["industry"] == "Software")]
        # person_type only exists for person segments (the schema's enum is contact|user).
        self.segments = [(g.segment(n, t), f) for n, t, f in person]
        self.company_segments = [(g.segment(n, None), f) for n, f in company]
        self.segment_match = {s["id"]: f for s, f in self.segments + self.company_segments}

    def _put_company(self, co):
        co["segments"] = {"type": "segment.list",
                          "segments": [dict(s) for s, f in self.company_segments if f(co)]}
        self.companies[co["id"]] = co

    def _make_contacts(self, n):
        g, rng = self.gen, self.gen.rng
        # Every 10th company (or the last of a few) never gets users: /companies/list must hide it.
        company_ids = list(self.companies)
        company_ids = [x for j, x in enumerate(company_ids) if j % 10 != 9] if len(company_ids) >= 10 \
            else company_ids[:-1] if len(company_ids) > 1 else company_ids
        user_count = {}
        for i in range(n):
            # The first three and every 97th contact are "heavy": >10 tags, notes (and companies for users).
            heavy = i < 3 or i % 97 == 0
            role = "user" if i < 3 or rng.random() >= 1 / 3 else "lead"
            c = g.contact(role, self.admins)
            made, upd = c["created_at"], c["updated_at"]
            span, r = upd - made, rng.random
            n_tags = 11 + int(r() * 10) if heavy else (0, 0, 1, 1, 2, 3)[int(r() * 6)]
            tags = [(self.tags[j]["id"], made + int(r() * span), self.admins[j % len(self.admins)]["id"])
                    for j in distinct(r, len(self.tags), n_tags)]
            tags.sort(key=lambda t: (t[1], t[0]))
            cos = []
            if role == "user" and company_ids:
                k = 11 + int(r() * 5) if heavy else (0, 1, 1, 1, 2, 3)[int(r() * 6)]
                cos = [company_ids[j] for j in distinct(r, len(company_ids), k)]
                for co in cos:
                    user_count[co] = user_count.get(co, 0) + 1
            k = 11 + int(r() * 15) if heavy else (0, 0, 0, 1, 1, 2)[int(r() * 6)]
            notes = [g.note(c, self.admins, made + int(r() * span)) for _ in range(k)]
            self._store_contact(c, tags, cos, notes)
        for co, k in user_count.items():
            self.companies[co]["user_count"] = k
        self._tie_groups(list(self.contacts.values()), self._replace_contact_ts)
        for role in ("user", "lead"):
            self._tie_groups([c for c in self.contacts.values() if c["role"] == role], self._replace_contact_ts,
                             boundaries=(150,), extra=0)

    def _store_contact(self, c, tags, company_ids, notes):
        notes.sort(key=lambda nt: (-nt["created_at"], nt["id"]))  # newest first, as GET .../notes lists them
        for nt in notes:
            self.notes[nt["id"]] = nt
        x = self.gen.xr()  # the second RNG: the spec-shaped workspace stays as it was (generate.py)
        self.lists[c["id"]] = {"tags": tags, "companies": list(company_ids), "notes": [nt["id"] for nt in notes],
                               "opted_out": OPT_OUTS[int(x * 16)] if x < 0.25 else (),
                               "opted_in": OPT_INS[1] if x > 0.7 else ()}
        self.contacts[c["id"]] = c

    def contact_view(self, c, full=False):
        """The contact as served: with its tags/companies/notes addressable lists (the first 10, or all
        when full). Built per request rather than stored: it keeps a 100k workspace small and quick to make."""
        cid = c["id"]
        lists = self.lists.get(cid) or NO_LISTS  # deleted while a page was being served
        out = c.copy()
        cut = None if full else MAX_EMBEDDED
        tags, cos, notes = lists["tags"], lists["companies"], lists["notes"]
        out["tags"] = {"type": "list", "data": [{"type": "tag", "id": t[0], "url": "/tags/" + t[0]} for t in tags[:cut]],
                       "url": "/contacts/%s/tags" % cid, "total_count": len(tags), "has_more": len(tags) > MAX_EMBEDDED}
        out["companies"] = {"type": "list",
                            "data": [{"type": "company", "id": i, "url": "/companies/" + i} for i in cos[:cut]],
                            "url": "/contacts/%s/companies" % cid, "total_count": len(cos),
                            "has_more": len(cos) > MAX_EMBEDDED}
        out["notes"] = {"type": "list", "data": [{"type": "note", "id": i, "url": "/notes/" + i} for i in notes[:cut]],
                        "url": "/contacts/%s/notes" % cid, "total_count": len(notes),
                        "has_more": len(notes) > MAX_EMBEDDED}
        # Live workspaces send these two subscription lists (API-NOTES 10); the shape is the other lists'.
        for key, subs in (("opted_out_subscription_types", lists["opted_out"]),
                          ("opted_in_subscription_types", lists["opted_in"])):
            out[key] = {"type": "list", "data": [{"type": "subscription", "id": s, "url": "/subscriptions/" + s}
                                                 for s in subs],
                        "url": "/contacts/%s/subscriptions" % cid, "total_count": len(subs), "has_more": False}
        return out

    def _make_conversations(self, n):
        g, rng = self.gen, self.gen.rng
        people = sorted(self.contacts.values(), key=lambda c: c["id"])
        if not people:
            return
        for i in range(n):
            # Conversation 0 has more parts than the API returns (the 500 cap).
            k = 530 + int(rng.random() * 40) if i == 0 else 1 + int(rng.random() ** 2 * 12)
            conv, parts = g.conversation(people, self.admins, self.teams, self.tags, k)
            self.conversations[conv["id"]] = conv
            self.parts[conv["id"]] = parts
        self._tie_groups(list(self.conversations.values()), self._replace_conversation_ts)

    def _tie_groups(self, recs, replace, boundaries=(150, 300), extra=4):
        """Give small runs of records (in updated_at order) one shared updated_at: some runs straddle a
        150-record page boundary, a few lie elsewhere. Raising to the run's maximum keeps each run
        contiguous in the sort order and keeps updated_at >= created_at."""
        order = sorted([(r["updated_at"], r["id"]) for r in recs])
        rng = self.gen.rng
        starts = [b - 3 for b in boundaries if b + 3 < len(order)]
        starts += [int(rng.random() * max(0, len(order) - 8)) for _ in range(extra if len(order) > 20 else 0)]
        for s in starts:
            run = order[s:s + 6]
            for _, rid in run:
                replace(rid, run[-1][0])

    def _replace_contact_ts(self, cid, ts):
        self.contacts[cid] = dict(self.contacts[cid], updated_at=ts)

    def _replace_conversation_ts(self, cid, ts):
        self.conversations[cid] = dict(self.conversations[cid], updated_at=ts)

    def _link_tickets(self):
        """Some conversations became tickets: `ticket` holds the ticket with an integer id (the ticket's own
        id is a string) and custom attributes wrapped as {value, type}; `linked_objects` lists it."""
        xr = self.gen.xr
        convs = sorted(self.conversations)
        for tid in sorted(self.tickets) if convs else ():
            if xr() >= 0.3:
                continue
            t, cid = self.tickets[tid], convs[int(xr() * len(convs))]
            conv = self.conversations[cid]
            if conv["ticket"] is not None:
                continue
            kinds = {a["name"]: a["data_type"] for a in t["ticket_type"]["ticket_type_attributes"]["data"]}
            attrs = {k: {"value": v, "type": kinds.get(k, "string")} for k, v in t["ticket_attributes"].items()}
            ticket = {"type": "ticket", "id": int(tid), "ticket_id": t["ticket_id"], "category": t["category"],
                      "custom_attributes": attrs, "ticket_state": t["ticket_state"]["category"]}
            link = {"type": "ticket", "id": tid, "category": t["category"]}
            self.conversations[cid] = dict(conv, ticket=ticket, linked_objects={
                "type": "list", "total_count": 1, "has_more": False, "data": [link]})

    # ---- reading ---------------------------------------------------------------------------------------
    def now(self):
        return int(self.clock + (time.monotonic() - self._t0))

    def records(self, kind):
        with self.lock:
            return list(getattr(self, kind).values())

    def contact_tag_ids(self, cid):
        lst = self.lists.get(cid)
        return [t[0] for t in lst["tags"]] if lst else []

    def segment_list(self, company=False, include_count=False):
        segs = self.company_segments if company else self.segments
        out = []
        for s, _ in segs:
            rec = dict(s)
            if include_count:
                rec["count"] = self.segment_count(s["id"], company)
            out.append(rec)
        return out

    def segment_count(self, sid, company):
        kind = "companies" if company else "contacts"
        key = (sid, self.versions[kind])
        if key not in self._seg_counts:
            if len(self._seg_counts) > 1000:  # counts of old versions are never asked for again
                self._seg_counts.clear()
            f = self.segment_match[sid]
            self._seg_counts[key] = sum(1 for r in self.records(kind) if f(r))
        return self._seg_counts[key]

    def attributes(self, model, include_archived=False):
        return [a for a in self.data_attributes
                if (model is None or a["model"] == model) and (include_archived or not a["archived"])]

    def contact_tags(self, cid):
        return [dict(self.tag_by_id[t], applied_at=at, applied_by={"type": "admin", "id": by})
                for t, at, by in self.lists.get(cid, NO_LISTS)["tags"] if t in self.tag_by_id]

    def contact_companies(self, cid):
        return [self.companies[x] for x in self.lists.get(cid, NO_LISTS)["companies"] if x in self.companies]

    def contact_notes(self, cid):
        return [self.notes[x] for x in self.lists.get(cid, NO_LISTS)["notes"] if x in self.notes]

    def recent_parts(self, conv_id):
        return self.parts.get(conv_id, [])[-MAX_PARTS:]

    # ---- mutations -------------------------------------------------------------------------------------
    def mutate(self, body):
        action = body.get("action")
        with self.lock:
            ts = int(body["updated_at"]) if body.get("updated_at") is not None else self.now()
            if body.get("stream") in NEWER_STREAMS:
                return {"ids": self.newer.mutate(action, body, ts), "updated_at": ts}
            handler = {"update": self._update, "create": self._create, "delete": self._delete,
                       "add_parts": self._add_parts, "tag": self._tag, "merge": self._merge,
                       "convert": self._convert, "remove_social_profile": self._social_profile,
                       "change_social_profile": self._social_profile,
                       "link": self._link, "unlink": self._link}.get(action)
            if handler is None:
                raise MutationError("unknown action %r" % action)
            ids = handler(body, ts)
            if action == "add_parts":  # the new part ids, too: tests look them up in the truth
                ids, part_ids = ids
                return {"ids": ids, "part_ids": part_ids, "updated_at": ts}
            if action in ("link", "unlink"):  # the child linked or unlinked, too
                ids, child = ids
                return {"ids": ids, "child": child, "updated_at": ts}
            return {"ids": ids, "updated_at": ts}

    def _bump(self, *kinds):
        for k in kinds:
            self.versions[k] += 1

    def _stream_ids(self, stream):
        if stream in ("users", "contacts"):
            role = "user" if stream == "users" else "lead"
            return "contacts", sorted(i for i, c in self.contacts.items() if c["role"] == role)
        if stream in ("companies", "conversations", "tickets"):
            return stream, sorted(getattr(self, stream))
        raise MutationError("unknown stream %r" % stream)

    def _targets(self, body, stream=None):
        if (stream or body.get("stream")) == "tags":
            return "tags", self._tag_targets(body)
        kind, pool = self._stream_ids(stream or body.get("stream"))
        if body.get("ids") is not None:
            ids = [str(i) for i in body["ids"]]
            missing = [i for i in ids if i not in getattr(self, kind)]
            if missing:
                raise MutationError("unknown ids %s" % missing[:5])
            return kind, ids
        count = int(body.get("count", 1))
        return kind, self.mut_rng.sample(pool, min(count, len(pool)))

    def _update(self, body, ts):
        kind, ids = self._targets(body)
        if kind == "tickets":
            self.ticketing.update(ids, ts)
            self._bump(kind)
            return ids
        store = getattr(self, kind)
        for i in ids:
            rec = dict(store[i], updated_at=ts)
            attrs = dict(rec["custom_attributes"])
            if kind == "conversations":
                rec["title"] = "Updated conversation %s @%d" % (i, ts)
                attrs["Issue type"] = "updated"
            elif kind == "companies":
                rec["name"] = "Renamed company @%d" % ts
                attrs["nps"] = (attrs.get("nps") or 0) + 1
            else:
                rec["name"] = "Updated Person @%d" % ts
                attrs["team_mates"] = (attrs.get("team_mates") or 0) + 1
            attrs.update(body.get("custom_attributes") or {})  # tests set odd values (misfits, new attributes)
            rec["custom_attributes"] = attrs
            store[i] = rec
        self._bump(kind)
        return ids

    def _create(self, body, ts):
        stream, count, g = body.get("stream"), int(body.get("count", 1)), self.gen
        ids = []
        for _ in range(count):
            if stream in ("users", "contacts"):
                c = g.contact("user" if stream == "users" else "lead", self.admins, created=ts)
                self._store_contact(c, [], [], [])
                ids.append(c["id"])
            elif stream == "companies":
                co = g.company(self.tags, created=ts)
                self._put_company(co)
                ids.append(co["id"])
            elif stream == "tickets":
                if not self.contacts:
                    raise MutationError("no contacts to open a ticket for")
                ids.append(self.ticketing.create(ts))
            elif stream == "conversations":
                people = sorted(self.contacts)
                if not people:
                    raise MutationError("no contacts to start a conversation with")
                who = [self.contacts[p] for p in people]
                conv, parts = g.conversation(who, self.admins, self.teams, self.tags, 1 + len(ids) % 3, created=ts)
                self.conversations[conv["id"]] = conv
                self.parts[conv["id"]] = parts
                ids.append(conv["id"])
            else:
                raise MutationError("unknown stream %r" % stream)
        self._bump("contacts" if stream in ("users", "contacts") else stream)
        return ids

    def _tag_targets(self, body):
        ids = [str(i) for i in body.get("ids") or []]
        if not ids or any(i not in self.tag_by_id for i in ids):
            raise MutationError("deleting tags needs the ids of existing tags")
        return ids

    def _delete_tags(self, ids):
        """A deleted tag leaves every contact and company it was on (neither's updated_at moves)."""
        gone = set(ids)
        self.tags = [t for t in self.tags if t["id"] not in gone]
        for i in gone:
            del self.tag_by_id[i]
        for cid, lst in self.lists.items():
            if any(t[0] in gone for t in lst["tags"]):
                lst["tags"] = [t for t in lst["tags"] if t[0] not in gone]
                self.contacts[cid] = dict(self.contacts[cid])  # a new object: cached JSON is stale
        for co, rec in list(self.companies.items()):
            tags = rec.get("tags") or {}
            if any(t.get("id") in gone for t in tags.get("tags") or []):
                self.companies[co] = dict(rec, tags=dict(tags, tags=[t for t in tags["tags"] if t["id"] not in gone]))
        self._bump("contacts", "companies")
        return ids

    def _delete(self, body, ts):
        kind, ids = self._targets(body)
        if kind == "tags":
            return self._delete_tags(ids)
        for i in ids:
            if kind == "contacts":
                lst = self.lists.pop(i)
                for nid in lst["notes"]:
                    self.notes.pop(nid, None)
                for co in lst["companies"]:
                    if co in self.companies:
                        self.companies[co] = dict(self.companies[co], user_count=self.companies[co]["user_count"] - 1)
                self._bump("companies")
            elif kind == "companies":
                # A deleted company drops out of contacts' company lists (Intercom keeps no dangling refs).
                for cid, lst in self.lists.items():
                    if i in lst["companies"]:
                        lst["companies"] = [x for x in lst["companies"] if x != i]
                        self.contacts[cid] = dict(self.contacts[cid])  # a new object: cached JSON is stale
                self._bump("contacts")
            elif kind == "conversations":
                self.parts.pop(i, None)
                self.deleted_conversations[i] = {"type": "conversation", "id": i, "deleted_at": ts,
                                                 "metrics_retained": False}
            elif kind == "tickets":
                self.ticket_parts.pop(i, None)
            del getattr(self, kind)[i]
        self._bump(kind)
        return ids

    def _merge(self, body, ts):
        """Leads merged into a user: each lead vanishes (404, gone from list and search); the user is touched."""
        _, ids = self._targets(body, "contacts")
        into = str(body.get("into") or "")
        if into not in self.contacts or self.contacts[into]["role"] != "user":
            raise MutationError("merge needs \"into\": the id of an existing user")
        self.newer.merge(ids, into, ts)  # its merge_history; 2.16 answers 410 for the merged ids
        self._delete({"stream": "contacts", "ids": ids}, ts)
        self.contacts[into] = dict(self.contacts[into], updated_at=ts)
        self._bump("contacts")
        return ids

    def _convert(self, body, ts):
        """Leads that signed up: same id, role user, a new updated_at."""
        _, ids = self._targets(body, "contacts")
        for i in ids:
            self.contacts[i] = dict(self.contacts[i], role="user", updated_at=ts)
        self._bump("contacts")
        return ids

    def _social_profile(self, body, ts):
        """Removes, or changes the URL of, the first social profile of each contact (which must have one)."""
        ids = [str(i) for i in body.get("ids") or []]
        if not ids or any(i not in self.contacts or not self.contacts[i]["social_profiles"]["data"] for i in ids):
            raise MutationError("%s needs the ids of contacts with social profiles" % body["action"])
        for i in ids:
            profiles = [dict(p) for p in self.contacts[i]["social_profiles"]["data"]]
            if body["action"] == "remove_social_profile":
                profiles.pop(0)
            else:
                profiles[0]["url"] = profiles[0]["url"].rstrip("/") + "-%d" % ts
            listing = dict(self.contacts[i]["social_profiles"], data=profiles)
            self.contacts[i] = dict(self.contacts[i], social_profiles=listing, updated_at=ts)
        self._bump("contacts")
        return ids

    def _add_parts(self, body, ts):
        if body.get("stream") == "tickets":
            _, ids = self._targets(body)
            part_ids = self.ticketing.add_parts(ids, int(body.get("count", 1)), ts)
            self._bump("tickets")
            return ids, part_ids
        _, ids = self._targets(body, "conversations")
        count, g, out = int(body.get("count", 1)), self.gen, []
        for i in ids:
            conv = self.conversations[i]
            admin = self.admin_by_id.get(conv["teammates"]["admins"][0]["id"], self.admins[0])
            person = self.contacts.get(conv["contacts"]["contacts"][0]["id"]) or {
                "role": "user", "id": conv["contacts"]["contacts"][0]["id"], "name": None, "email": None}
            new = [g.part(person, admin, k, ts) for k in range(count)]
            parts = self.parts[i] + new
            self.parts[i] = parts
            stats = dict(conv["statistics"], count_conversation_parts=len(parts))
            self.conversations[i] = dict(conv, updated_at=ts, statistics=stats)
            out.extend(p["id"] for p in new)
        self._bump("conversations")
        return ids, out

    def _tag(self, body, ts):
        ids, count = [str(i) for i in body.get("ids") or []], int(body.get("count", 1))
        if not ids or any(i not in self.contacts for i in ids):
            raise MutationError("tag needs the ids of existing contacts")
        for cid in ids:
            lst = self.lists[cid]
            have = {t[0] for t in lst["tags"]}
            free = [t["id"] for t in self.tags if t["id"] not in have]
            while len(free) < count:  # ran out of tags: create new ones, as a teammate would
                t = {"type": "tag", "id": self.gen.next_id("tag"), "name": "Auto tag %d" % len(self.tags)}
                self.tags.append(t)
                self.tag_by_id[t["id"]] = t
                free.append(t["id"])
            lst["tags"] = lst["tags"] + [(t, ts, self.admins[0]["id"]) for t in free[:count]]
            self.contacts[cid] = dict(self.contacts[cid], updated_at=ts)
        self._bump("contacts")
        return ids

    def _link(self, body, ts):
        """A relation added or removed (links.py)."""
        try:
            return links.mutate(self, body, ts)
        except links.LinkError as exc:
            raise MutationError(str(exc)) from None

    # ---- ground truth ----------------------------------------------------------------------------------
    def truth(self):
        """Exactly what a perfect tap extracts: one list per stream, records as the API serves them."""
        with self.lock:
            contacts = sorted(self.contacts.values(), key=lambda c: c["id"])
            full = [self.contact_view(c, full=True) for c in contacts]
            parts = []
            for cid in sorted(self.conversations):
                parts.extend(dict(p, conversation_id=cid) for p in self.recent_parts(cid))
            return {
                "users": [c for c in full if c["role"] == "user"],
                "contacts": [c for c in full if c["role"] == "lead"],
                "social_profiles": [dict(p, contact_id=c["id"]) for c in contacts
                                    for p in c["social_profiles"]["data"]],
                "companies": [self.companies[i] for i in sorted(self.companies)],
                "conversations": [self.conversations[i] for i in sorted(self.conversations)],
                "conversation_parts": parts,
                "admins": list(self.admins), "teams": list(self.teams),
                "tags": [dict(t) for t in self.tags],
                "segments": self.segment_list(False, True), "company_segments": self.segment_list(True, True),
                "company_attributes": self.attributes("company", True),
                "contact_attributes": self.attributes("contact", True),
                "deleted_conversations": [self.deleted_conversations[i] for i in sorted(self.deleted_conversations)],
                "cut_conversations": sorted(i for i, p in self.parts.items() if len(p) > MAX_PARTS),
                **self.ticketing.truth(), **self.content.truth(), **links.truth(self), **self.newer.truth()}
