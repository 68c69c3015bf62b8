"""Relations between records (a conversation's tags, a contact's companies, a team's admins ...): their truth,
one list per link stream of the tap, and the control API's `link` / `unlink` mutations.

POST /_emulator/mutate {"action": "link" | "unlink", "relation": "<link stream>", "id": "<parent id>",
"child": "<child id>"}: adds or removes one relation (without "child": a free tag/contact/company/admin for
`link`, the parent's first one for `unlink`). As in Intercom, the change moves the parent's updated_at (a
contact's, company's, conversation's or ticket's); a team has no updated_at. Segment memberships follow the
segments' rules and are not mutable here. Records are replaced, never changed in place (workspace.py).
"""

RELATIONS = ("contact_tags", "contact_companies", "company_tags", "company_segment_memberships",
             "conversation_tags", "conversation_contacts", "conversation_teammates", "ticket_contacts",
             "team_admins")


def teammates_key(conversation):
    """Live workspaces send teammates as {"type": "admin.list", "admins": [...]}, the spec as "teammates"."""
    listing = conversation.get("teammates") or {}
    return "admins" if "admins" in listing else "teammates"


def _embedded(record, name, inner):
    return list(((record.get(name) or {}).get(inner)) or [])


def truth(ws):
    """{link stream: rows}, each row as a perfect tap extracts it: {<parent>_id, <child>_id, <parent>_updated_at
    (epoch s), what the embedded item says}."""
    out = {name: [] for name in RELATIONS}
    for cid in sorted(ws.contacts):
        c, lists = ws.contacts[cid], ws.lists.get(cid) or {"tags": [], "companies": []}
        for tag_id, applied_at, by in lists["tags"]:
            if tag_id in ws.tag_by_id:
                out["contact_tags"].append({"contact_id": cid, "tag_id": tag_id, "contact_updated_at": c["updated_at"]})
        for co in lists["companies"]:
            if co in ws.companies:
                out["contact_companies"].append({"contact_id": cid, "company_id": co,
                                                 "contact_updated_at": c["updated_at"]})
    for co in sorted(ws.companies):
        rec = ws.companies[co]
        for tag in _embedded(rec, "tags", "tags"):
            out["company_tags"].append({"company_id": co, "tag_id": tag["id"], "company_updated_at": rec["updated_at"],
                                        "name": tag.get("name")})
        for seg in _embedded(rec, "segments", "segments"):
            out["company_segment_memberships"].append({"company_id": co, "segment_id": seg["id"],
                                                       "company_updated_at": rec["updated_at"],
                                                       "name": seg.get("name")})
    for cid in sorted(ws.conversations):
        conv = ws.conversations[cid]
        at = conv["updated_at"]
        for tag in _embedded(conv, "tags", "tags"):
            out["conversation_tags"].append({"conversation_id": cid, "tag_id": tag["id"], "conversation_updated_at": at,
                                             "name": tag.get("name"), "applied_at": tag.get("applied_at"),
                                             "applied_by": tag.get("applied_by")})
        for person in _embedded(conv, "contacts", "contacts"):
            out["conversation_contacts"].append({"conversation_id": cid, "contact_id": person["id"],
                                                 "conversation_updated_at": at,
                                                 "external_id": person.get("external_id")})
        for admin in _embedded(conv, "teammates", teammates_key(conv)):
            out["conversation_teammates"].append({"conversation_id": cid, "admin_id": str(admin["id"]),
                                                  "conversation_updated_at": at})
    for tid in sorted(ws.tickets):
        ticket = ws.tickets[tid]
        for person in _embedded(ticket, "contacts", "contacts"):
            out["ticket_contacts"].append({"ticket_id": tid, "contact_id": person["id"],
                                           "ticket_updated_at": ticket["updated_at"],
                                           "external_id": person.get("external_id")})
    for team in ws.teams:
        levels = team.get("admin_priority_level") or {}
        priority = {str(a): level for level in ("secondary", "primary") for a in levels.get(level + "_admin_ids") or ()}
        for admin_id in team["admin_ids"]:
            out["team_admins"].append({"team_id": team["id"], "admin_id": str(admin_id),
                                       "priority": priority.get(str(admin_id))})
    return out


class LinkError(ValueError):
    pass


def mutate(ws, body, ts):
    """Add (`link`) or remove (`unlink`) one relation; returns (parent ids, child id)."""
    relation, parent, child = body.get("relation"), str(body.get("id") or ""), body.get("child")
    adding = body["action"] == "link"
    child = None if child is None else str(child)
    handler = {"contact_tags": _contact_tags, "contact_companies": _contact_companies,
               "company_tags": _company_tags, "conversation_tags": _conversation_tags,
               "conversation_contacts": _conversation_contacts, "conversation_teammates": _conversation_teammates,
               "ticket_contacts": _ticket_contacts, "team_admins": _team_admins}.get(relation)
    if handler is None:
        raise LinkError("relation must be one of %s" % ", ".join(r for r in RELATIONS if "segment" not in r))
    return [parent], handler(ws, parent, child, adding, ts)


def _pick(current, candidates, child, adding, what):
    """The child to add or remove, checked against the current children."""
    if adding:
        child = child if child is not None else next((c for c in candidates if c not in current), None)
        if child is None or child not in candidates:
            raise LinkError("no such %s to link" % what)
        if child in current:
            raise LinkError("%s %s is already linked" % (what, child))
        return child
    child = child if child is not None else (current[0] if current else None)
    if child is None or child not in current:
        raise LinkError("%s %s is not linked" % (what, child))
    return child


def _need(store, parent, what):
    if parent not in store:
        raise LinkError("unknown %s %r" % (what, parent))
    return store[parent]


def _contact_tags(ws, cid, child, adding, ts):
    _need(ws.contacts, cid, "contact")
    lst = ws.lists[cid]
    tag = _pick([t[0] for t in lst["tags"]], [t["id"] for t in ws.tags], child, adding, "tag")
    lst["tags"] = lst["tags"] + [(tag, ts, ws.admins[0]["id"])] if adding else [t for t in lst["tags"] if t[0] != tag]
    ws.contacts[cid] = dict(ws.contacts[cid], updated_at=ts)
    ws._bump("contacts")
    return tag


def _contact_companies(ws, cid, child, adding, ts):
    _need(ws.contacts, cid, "contact")
    lst = ws.lists[cid]
    co = _pick(lst["companies"], sorted(ws.companies), child, adding, "company")
    lst["companies"] = lst["companies"] + [co] if adding else [x for x in lst["companies"] if x != co]
    ws.contacts[cid] = dict(ws.contacts[cid], updated_at=ts)
    count = ws.companies[co].get("user_count") or 0
    ws.companies[co] = dict(ws.companies[co], user_count=max(0, count + (1 if adding else -1)))
    ws._bump("contacts", "companies")
    return co


def _company_tags(ws, co, child, adding, ts):
    rec = _need(ws.companies, co, "company")
    tags = _embedded(rec, "tags", "tags")
    tag = _pick([t["id"] for t in tags], [t["id"] for t in ws.tags], child, adding, "tag")
    tags = tags + [{"type": "tag", "id": tag, "name": ws.tag_by_id[tag]["name"]}] if adding \
        else [t for t in tags if t["id"] != tag]
    ws.companies[co] = dict(rec, tags=dict(rec.get("tags") or {"type": "tag.list"}, tags=tags), updated_at=ts)
    ws._bump("companies")
    return tag


def _replace_list(ws, store, rid, name, inner, items, ts, kind):
    rec = store[rid]
    store[rid] = dict(rec, **{name: dict(rec.get(name) or {}, **{inner: items})}, updated_at=ts)
    ws._bump(kind)


def _conversation_tags(ws, cid, child, adding, ts):
    conv = _need(ws.conversations, cid, "conversation")
    tags = _embedded(conv, "tags", "tags")
    tag = _pick([t["id"] for t in tags], [t["id"] for t in ws.tags], child, adding, "tag")
    tags = tags + [{"type": "tag", "id": tag, "name": ws.tag_by_id[tag]["name"], "applied_at": ts,
                    "applied_by": {"type": "admin", "id": ws.admins[0]["id"]}}] if adding \
        else [t for t in tags if t["id"] != tag]
    _replace_list(ws, ws.conversations, cid, "tags", "tags", tags, ts, "conversations")
    return tag


def _people(ws, record, child, adding):
    people = _embedded(record, "contacts", "contacts")
    person = _pick([p["id"] for p in people], sorted(ws.contacts), child, adding, "contact")
    if adding:
        added = {"type": "contact", "id": person, "external_id": ws.contacts[person].get("external_id")}
        return person, people + [added]
    return person, [p for p in people if p["id"] != person]


def _conversation_contacts(ws, cid, child, adding, ts):
    person, people = _people(ws, _need(ws.conversations, cid, "conversation"), child, adding)
    _replace_list(ws, ws.conversations, cid, "contacts", "contacts", people, ts, "conversations")
    return person


def _conversation_teammates(ws, cid, child, adding, ts):
    conv = _need(ws.conversations, cid, "conversation")
    key = teammates_key(conv)
    admins = _embedded(conv, "teammates", key)
    admin = _pick([str(a["id"]) for a in admins], [a["id"] for a in ws.admins], child, adding, "admin")
    admins = admins + [{"type": "admin", "id": admin}] if adding else [a for a in admins if str(a["id"]) != admin]
    _replace_list(ws, ws.conversations, cid, "teammates", key, admins, ts, "conversations")
    return admin


def _ticket_contacts(ws, tid, child, adding, ts):
    person, people = _people(ws, _need(ws.tickets, tid, "ticket"), child, adding)
    _replace_list(ws, ws.tickets, tid, "contacts", "contacts", people, ts, "tickets")
    return person


def _team_admins(ws, team_id, child, adding, _ts):
    index = next((j for j, t in enumerate(ws.teams) if t["id"] == team_id), None)
    if index is None:
        raise LinkError("unknown team %r" % team_id)
    team = ws.teams[index]
    admin = _pick([str(a) for a in team["admin_ids"]], [a["id"] for a in ws.admins], child, adding, "admin")
    members = team["admin_ids"] + [int(admin)] if adding else [a for a in team["admin_ids"] if str(a) != admin]
    teams = list(ws.teams)
    teams[index] = dict(team, admin_ids=members)  # a team has no updated_at: nothing else moves
    ws.teams = teams
    return admin
