"""Tests of the Intercom API emulator: envelopes, every pagination style, search semantics, scroll rules,
limits, faults, mutations and the ground truth. Small workspaces keep the whole file well under a minute."""
import concurrent.futures
import json
import os
import subprocess
import sys
import time

import pytest
import requests

from conftest import wait_until
from intercom_emulator import Emulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "test-token"
DAY = 86400


class Client:
    def __init__(self, emu, token=TOKEN, version="2.14"):
        self.emu, self.s = emu, requests.Session()
        self.headers = {"Authorization": "Bearer %s" % token, "Accept": "application/json"}
        if version:
            self.headers["Intercom-Version"] = version

    def get(self, path, **params):
        return self.s.get(self.emu.url + path, params=params, headers=self.headers, timeout=10)

    def post(self, path, body=None, **params):
        return self.s.post(self.emu.url + path, params=params, json=body, headers=self.headers, timeout=10)

    def ok(self, method, path, *args, **kw):
        r = getattr(self, method)(path, *args, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def control(self, name, body=None):
        if body is None:
            return self.s.get(self.emu.url + "/_emulator/" + name, timeout=30).json()
        r = self.s.post(self.emu.url + "/_emulator/" + name, json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def search_all(self, kind, query, sort=None, per_page=150):
        """Follows pages.next.starting_after to the end; returns the records in order."""
        body, out = {"query": query, "pagination": {"per_page": per_page}}, []
        if sort:
            body["sort"] = sort
        key = "data" if kind == "contacts" else "conversations"
        while True:
            page = self.ok("post", "/%s/search" % kind, body)
            out.extend(page[key])
            nxt = page["pages"].get("next")
            if not nxt:
                return out
            body["pagination"]["starting_after"] = nxt["starting_after"]


def make(**kw):
    args = dict(seed=7, contacts=300, companies=60, conversations=80, token=TOKEN)
    args.update(kw)
    return Emulator(**args).start()


@pytest.fixture(scope="module")
def emu():
    e = make()
    yield e
    e.stop()


@pytest.fixture
def fresh():
    """An emulator of its own, for tests that mutate or reconfigure."""
    e = make(contacts=200, companies=30, conversations=40)
    yield e
    e.stop()


@pytest.fixture(scope="module")
def truth(emu):
    return Client(emu).control("truth")


ALL_CONTACTS = {"field": "created_at", "operator": ">", "value": 0}
ALL_CONVERSATIONS = {"field": "created_at", "operator": ">", "value": 0}


def error_of(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"] == "error.list" and len(body["request_id"]) == 36
    assert body["errors"][0]["code"] == code
    return body["errors"][0]["message"]


# ---- envelopes -------------------------------------------------------------------------------------------
def test_small_list_envelopes(emu, truth):
    c = Client(emu)
    admins = c.ok("get", "/admins")
    assert admins["type"] == "admin.list" and admins["admins"] and "avatar" not in admins["admins"][0]
    one = c.ok("get", "/admins/" + admins["admins"][0]["id"])
    assert one["type"] == "admin" and isinstance(one["id"], str) and "avatar" in one
    assert one == truth["admins"][0]
    error_of(c.get("/admins/1"), 404, "admin_not_found")
    assert c.ok("get", "/teams")["type"] == "team.list"
    tags = c.ok("get", "/tags")
    assert tags["type"] == "list" and tags["data"] == truth["tags"]
    segs = c.ok("get", "/segments")
    assert segs["type"] == "segment.list" and all("count" not in s for s in segs["segments"])
    counted = c.ok("get", "/segments", include_count="true")["segments"]
    assert counted == truth["segments"] and {s["person_type"] for s in counted} == {"user", "contact"}
    assert c.ok("get", "/segments", type="company", include_count="true")["segments"] == truth["company_segments"]
    attrs = c.ok("get", "/data_attributes", model="contact")
    assert attrs["type"] == "list" and not any(a["archived"] for a in attrs["data"])
    archived = c.ok("get", "/data_attributes", model="contact", include_archived="true")["data"]
    assert len(archived) > len(attrs["data"]) and any(a["archived"] for a in archived)
    assert archived == truth["contact_attributes"]  # the truth has archived ones too: the tap asks for them
    assert c.ok("get", "/data_attributes", model="company", include_archived="true")["data"] == \
        truth["company_attributes"]
    names = {a["name"] for a in attrs["data"] if a["custom"]}
    assert {"plan tier", "account.level", "seats-used", "café_rating", "2fa_enabled", "$ltv"} <= names


def test_admin_avatar_follows_version(emu):
    old = Client(emu, version="2.12").ok("get", "/admins", display_avatar="true")["admins"]
    new = Client(emu, version="2.14").ok("get", "/admins", display_avatar="true")["admins"]
    with_avatar = [i for i, a in enumerate(new) if a["avatar"]]
    assert with_avatar and all(old[i]["avatar"] == {"image_url": new[i]["avatar"]} for i in with_avatar)


def test_contact_and_conversation_envelopes(emu, truth):
    c = Client(emu)
    page = c.ok("post", "/contacts/search", {"query": ALL_CONTACTS, "pagination": {"per_page": 7}})
    assert page["type"] == "list" and len(page["data"]) == 7 and page["total_count"] == 300
    pages = page["pages"]
    assert pages["type"] == "pages" and pages["page"] == 1 and pages["per_page"] == 7
    assert pages["total_pages"] == 43 and pages["next"]["page"] == 2
    assert pages["next"]["starting_after"].startswith("W")  # base64 of a JSON array, like Intercom's
    contact = page["data"][0]
    for name in ("tags", "companies", "notes"):
        lst = contact[name]
        assert set(lst) == {"type", "data", "url", "total_count", "has_more"}
        assert lst["url"] == "/contacts/%s/%s" % (contact["id"], name)
    assert contact["social_profiles"]["type"] == "list"
    assert contact["avatar"] is None or set(contact["avatar"]) == {"type", "image_url"}
    assert isinstance(contact["created_at"], int) and isinstance(contact["id"], str)
    assert c.ok("get", "/contacts/" + contact["id"]) == contact
    error_of(c.get("/contacts/nope"), 404, "not_found")
    last = c.ok("post", "/contacts/search", {"query": ALL_CONTACTS, "pagination": {"per_page": 150}})
    last = c.ok("post", "/contacts/search", {"query": ALL_CONTACTS, "pagination": {
        "per_page": 150, "starting_after": last["pages"]["next"]["starting_after"]}})
    assert "next" not in last["pages"] and last["pages"]["page"] == 2 and len(last["data"]) == 150

    convs = c.ok("post", "/conversations/search", {"query": ALL_CONVERSATIONS, "pagination": {"per_page": 5}})
    assert convs["type"] == "conversation.list" and convs["total_count"] == 80 and len(convs["conversations"]) == 5
    item = convs["conversations"][0]
    assert "conversation_parts" not in item and item["contacts"]["type"] == "contact.list"
    full = c.ok("get", "/conversations/" + item["id"])
    parts = full.pop("conversation_parts")
    assert full == item
    assert parts["type"] == "conversation_part.list" and parts["total_count"] == len(parts["conversation_parts"])
    assert all(isinstance(p["id"], str) for p in parts["conversation_parts"])
    error_of(c.get("/conversations/999"), 404, "not_found")
    listed = c.ok("get", "/conversations", per_page=3)
    assert listed["type"] == "conversation.list" and len(listed["conversations"]) == 3


def test_plaintext_display(emu):
    c = Client(emu)
    conv = c.ok("get", "/conversations/200000001")
    plain = c.ok("get", "/conversations/200000001", display_as="plaintext")
    bodies = [p["body"] for p in conv["conversation_parts"]["conversation_parts"] if p["body"]]
    assert all(b.startswith("<p>") for b in bodies)
    assert all("<" not in (p["body"] or "") for p in plain["conversation_parts"]["conversation_parts"])
    linked = [p["body"] for p in plain["conversation_parts"]["conversation_parts"] if "billing" in (p["body"] or "")]
    assert not linked or "billing (https://example.com/billing)" in linked[0]
    truth = c.control("truth?stream=conversation_parts&display_as=plaintext")
    assert [p for p in truth if p["conversation_id"] == "200000001"] == \
        [dict(p, conversation_id="200000001") for p in plain["conversation_parts"]["conversation_parts"]]


# ---- pagination ------------------------------------------------------------------------------------------
def ids(records):
    out = [r["id"] for r in records]
    assert len(out) == len(set(out)), "duplicates"
    return out


def test_every_pagination_style_reaches_every_record_once(emu, truth):
    c = Client(emu)
    contacts = {r["id"] for r in truth["users"] + truth["contacts"]}
    for sort in ({"field": "updated_at", "order": "ascending"}, {"field": "updated_at", "order": "descending"},
                 {"field": "name", "order": "ascending"}, None):
        got = c.search_all("contacts", ALL_CONTACTS, sort, per_page=37)
        assert set(ids(got)) == contacts
    ups = [r["updated_at"] for r in c.search_all("contacts", ALL_CONTACTS, {"field": "updated_at", "order": "ascending"})]
    assert ups == sorted(ups)
    # GET /contacts: cursor in the query string
    seen, params = [], {"per_page": 40}
    while True:
        page = c.ok("get", "/contacts", **params)
        seen.extend(page["data"])
        if not page["pages"].get("next"):
            break
        params["starting_after"] = page["pages"]["next"]["starting_after"]
    assert set(ids(seen)) == contacts
    convs = {r["id"] for r in truth["conversations"]}
    got = c.search_all("conversations", ALL_CONVERSATIONS, {"field": "id", "order": "ascending"}, per_page=9)
    assert ids(got) == sorted(convs)
    seen, params = [], {"per_page": 11}
    while True:
        page = c.ok("get", "/conversations", **params)
        seen.extend(page["conversations"])
        if not page["pages"].get("next"):
            break
        params["starting_after"] = page["pages"]["next"]["starting_after"]
    assert set(ids(seen)) == convs
    # page numbers: /companies/list hides companies without users, GET /companies does not
    with_users = {co["id"] for co in truth["companies"] if co["user_count"] > 0}
    assert len(with_users) < len(truth["companies"])
    for method, path, expect in (("post", "/companies/list", with_users),
                                 ("get", "/companies", {co["id"] for co in truth["companies"]})):
        seen, page_no = [], 1
        while True:
            page = c.ok(method, path, page=page_no, per_page=13)
            seen.extend(page["data"])
            assert page["total_count"] == len(expect)
            if page_no >= page["pages"]["total_pages"]:
                assert page["pages"]["next"] is None
                break
            page_no += 1
        assert set(ids(seen)) == expect
    # scroll
    seen, params = [], {}
    while True:
        page = c.ok("get", "/companies/scroll", **params)
        if not page["data"]:
            break
        seen.extend(page["data"])
        params = {"scroll_param": page["scroll_param"]}
    assert set(ids(seen)) == {co["id"] for co in truth["companies"]}


def test_company_lookups(emu, truth):
    c = Client(emu)
    co = truth["companies"][0]
    assert c.ok("get", "/companies/" + co["id"]) == co
    error_of(c.get("/companies/nope"), 404, "company_not_found")
    assert c.ok("get", "/companies", company_id=co["company_id"])["data"] == [co]
    error_of(c.get("/companies", name="No Such Company"), 404, "company_not_found")
    if co["tags"]["tags"]:
        tagged = c.ok("get", "/companies", tag_id=co["tags"]["tags"][0]["id"], per_page=150)["data"]
        assert co["id"] in {x["id"] for x in tagged}
    note = next(u for u in truth["users"] if u["notes"]["data"])["notes"]["data"][0]
    assert c.ok("get", note["url"])["id"] == note["id"]


def test_search_ties_straddle_page_boundary(emu):
    recs = Client(emu).search_all("contacts", ALL_CONTACTS, {"field": "updated_at", "order": "ascending"})
    assert recs[149]["updated_at"] == recs[150]["updated_at"]  # a shared value across the 150 boundary


def test_keyset_cursor_is_stable_under_updates(fresh):
    c = Client(fresh)
    body = {"query": ALL_CONTACTS, "sort": {"field": "updated_at", "order": "ascending"}, "pagination": {"per_page": 50}}
    first = c.ok("post", "/contacts/search", body)
    seen = [r["id"] for r in first["data"]]
    moved = first["data"][3]["id"]
    later = c.search_all("contacts", ALL_CONTACTS, {"field": "updated_at", "order": "ascending"})[120]["id"]
    c.control("mutate", {"action": "update", "stream": "users" if first["data"][3]["role"] == "user" else "contacts",
                         "ids": [moved]})
    upd = fresh.ws.contacts[later]
    c.control("mutate", {"action": "update", "stream": "users" if upd["role"] == "user" else "contacts",
                         "ids": [later]})
    body["pagination"]["starting_after"] = first["pages"]["next"]["starting_after"]
    while True:
        page = c.ok("post", "/contacts/search", body)
        seen.extend(r["id"] for r in page["data"])
        if not page["pages"].get("next"):
            break
        body["pagination"]["starting_after"] = page["pages"]["next"]["starting_after"]
    assert set(seen) == set(fresh.ws.contacts)
    assert seen.count(moved) == 2  # updated behind the cursor: served again at the end
    assert seen.count(later) == 1  # updated ahead of the cursor: moved, never lost or doubled
    assert seen[-2:] == [moved, later] or seen[-2:] == [later, moved]


def test_per_page_is_clamped_and_sub_lists_page(emu, truth):
    c = Client(emu)
    page = c.ok("post", "/contacts/search", {"query": ALL_CONTACTS, "pagination": {"per_page": 500}})
    assert page["pages"]["per_page"] == 150 and len(page["data"]) == 150
    heavy = next(u for u in truth["users"] if u["companies"]["total_count"] > 10 and u["notes"]["total_count"] > 10)
    for name in ("companies", "notes"):
        seen, url = [], "/contacts/%s/%s" % (heavy["id"], name)
        page = c.ok("get", url, per_page=4)
        while True:
            seen.extend(page["data"])
            if not page["pages"]["next"]:
                break
            page = c.s.get(page["pages"]["next"], headers=c.headers).json()  # next is a full URL
        assert [x["id"] for x in seen] == [x["id"] for x in heavy[name]["data"]]


# ---- search semantics ------------------------------------------------------------------------------------
def day_start(ts, offset_hours=0):
    off = int(offset_hours * 3600)
    return (ts + off) // DAY * DAY - off


def count(c, kind, query):
    key = "data" if kind == "contacts" else "conversations"
    page = c.ok("post", "/%s/search" % kind, {"query": query, "pagination": {"per_page": 150}})
    return page["total_count"], {r["id"] for r in page[key]}


def test_contact_dates_are_day_granular(emu, truth):
    c = Client(emu)
    rec = next(r for r in truth["users"] if r["updated_at"] - day_start(r["updated_at"]) > 3600)
    x = rec["updated_at"] - 1800  # the same day, earlier
    q = lambda op, v: {"operator": "AND", "value": [{"field": "id", "operator": "=", "value": rec["id"]},
                                                    {"field": "updated_at", "operator": op, "value": v}]}
    assert count(c, "contacts", q(">", x))[0] == 0
    assert count(c, "contacts", q(">", x - DAY))[0] == 1
    assert count(c, "contacts", q(">", str(x - DAY)))[0] == 1  # string values too
    assert count(c, "contacts", q("=", float(x) + 0.5))[0] == 1
    assert count(c, "contacts", q("<", rec["updated_at"] + 1))[0] == 0
    assert count(c, "contacts", q("<", x + DAY))[0] == 1
    for op in (">=", "<=", "!="):
        error_of(c.post("/contacts/search", {"query": q(op, x)}), 400, "parameter_invalid")
    # whole range: everything updated from the day after X on
    n, _ = count(c, "contacts", {"field": "updated_at", "operator": ">", "value": x})
    assert n == sum(1 for r in truth["users"] + truth["contacts"] if r["updated_at"] >= day_start(x) + DAY)


def test_contact_day_boundary_uses_workspace_timezone():
    e = make(contacts=120, companies=10, conversations=5, tz_offset_hours=5)
    try:
        c, recs = Client(e), list(e.ws.contacts.values())
        x = recs[0]["updated_at"]
        n, _ = count(c, "contacts", {"field": "updated_at", "operator": ">", "value": x})
        assert n == sum(1 for r in recs if r["updated_at"] >= day_start(x, 5) + DAY)
    finally:
        e.stop()


def test_conversation_dates_are_exact_and_inclusive(emu, truth):
    c = Client(emu)
    conv = truth["conversations"][5]
    u = conv["updated_at"]
    q = lambda op, v: {"operator": "AND", "value": [{"field": "id", "operator": "=", "value": conv["id"]},
                                                    {"field": "updated_at", "operator": op, "value": v}]}
    assert count(c, "conversations", q(">", u))[0] == 1  # "greater (or equal)"
    assert count(c, "conversations", q(">", u + 1))[0] == 0
    assert count(c, "conversations", q("<", u))[0] == 1
    assert count(c, "conversations", q("=", u))[0] == 1 and count(c, "conversations", q("=", u - 1))[0] == 0
    n, _ = count(c, "conversations", {"field": "updated_at", "operator": ">", "value": u})
    assert n == sum(1 for r in truth["conversations"] if r["updated_at"] >= u)


def test_peer_style_queries(emu, truth):
    c = Client(emu)
    x = 1577836800.0  # a float, as the peer sends
    contacts = c.search_all("contacts", {"operator": "OR", "value": [
        {"field": "updated_at", "operator": ">", "value": x}, {"field": "updated_at", "operator": "=", "value": x}]},
        {"field": "updated_at", "order": "ascending"})
    assert len(contacts) == 300
    convs = c.search_all("conversations", {"operator": "AND", "value": [
        {"operator": "OR", "value": [{"field": "id", "operator": ">", "value": ""},
                                     {"field": "id", "operator": "=", "value": ""}]},
        {"operator": "OR", "value": [{"field": "updated_at", "operator": ">", "value": x},
                                     {"field": "updated_at", "operator": "=", "value": x}]}]},
        {"field": "id", "order": "ascending"})
    assert [r["id"] for r in convs] == sorted(r["id"] for r in truth["conversations"])


def test_operators_and_fields(emu, truth):
    c = Client(emu)
    people = truth["users"] + truth["contacts"]
    def check(query, expect):
        n, got = count(c, "contacts", query)
        assert n == len(expect), query
        if n <= 150:
            assert got == {r["id"] for r in expect}
    check({"field": "role", "operator": "=", "value": "lead"}, truth["contacts"])
    check({"field": "role", "operator": "!=", "value": "lead"}, truth["users"])
    some = [r["email"] for r in people[:3]]
    check({"field": "email", "operator": "IN", "value": some}, people[:3])
    check({"field": "email", "operator": "NIN", "value": some}, people[3:])
    check({"field": "email", "operator": "~", "value": "LOVELACE"}, [r for r in people if "lovelace" in r["email"]])
    check({"field": "email", "operator": "!~", "value": "example"}, [r for r in people if "example" not in r["email"]])
    check({"field": "email", "operator": "$", "value": ".test"}, [r for r in people if r["email"].endswith(".test")])
    check({"field": "name", "operator": "^", "value": "Zo"}, [r for r in people if (r["name"] or "").startswith("Zo")])
    check({"field": "external_id", "operator": "=", "value": None}, truth["contacts"])
    check({"field": "custom_attributes.seats-used", "operator": ">=", "value": 40},
          [r for r in people if r["custom_attributes"]["seats-used"] >= 40])
    check({"field": "custom_attributes.2fa_enabled", "operator": "=", "value": True},
          [r for r in people if r["custom_attributes"]["2fa_enabled"]])
    check({"field": "location.country", "operator": "=", "value": "Japan"},
          [r for r in people if r["location"]["country"] == "Japan"])
    tag = truth["tags"][0]["id"]
    check({"field": "tag_id", "operator": "=", "value": tag},
          [r for r in people if any(t["id"] == tag for t in r["tags"]["data"])])
    seg = next(s for s in truth["segments"] if s["name"] == "All leads")
    check({"field": "segment_id", "operator": "=", "value": seg["id"]}, truth["contacts"])
    n, _ = count(c, "conversations", {"operator": "AND", "value": [
        {"field": "state", "operator": "=", "value": "open"}, {"field": "open", "operator": "=", "value": True}]})
    assert n == sum(1 for r in truth["conversations"] if r["state"] == "open")
    n, _ = count(c, "conversations", {"field": "read", "operator": "=", "value": "false"})
    assert n == sum(1 for r in truth["conversations"] if not r["read"])


def test_query_validation(emu):
    c = Client(emu)
    leaf = {"field": "role", "operator": "=", "value": "user"}
    deep = {"operator": "AND", "value": [{"operator": "OR", "value": [{"operator": "AND", "value": [leaf]}]}]}
    error_of(c.post("/contacts/search", {"query": deep}), 400, "parameter_invalid")
    ok2 = {"operator": "AND", "value": [{"operator": "OR", "value": [leaf, leaf]}, leaf]}
    assert c.post("/contacts/search", {"query": ok2}).status_code == 200
    error_of(c.post("/contacts/search", {"query": {"operator": "OR", "value": [leaf] * 16}}), 400, "parameter_invalid")
    assert c.post("/contacts/search", {"query": {"operator": "OR", "value": [leaf] * 15}}).status_code == 200
    msg = error_of(c.post("/contacts/search", {"query": leaf, "sort": {"field": "name", "order": "desc"}}),
                   400, "invalid_sort_order")
    assert "ascending, descending" in msg
    error_of(c.post("/contacts/search", {"query": {"field": "nope", "operator": "=", "value": 1}}), 400,
             "parameter_invalid")
    error_of(c.post("/contacts/search", {"query": {"field": "role", "operator": "LIKE", "value": 1}}), 400,
             "parameter_invalid")
    error_of(c.post("/contacts/search", {"pagination": {}}), 400, "parameter_not_found")
    error_of(c.post("/contacts/search", {"query": leaf, "pagination": {"starting_after": "garbage!"}}), 400,
             "parameter_invalid")


# ---- scroll ----------------------------------------------------------------------------------------------
def test_scroll_rules(fresh):
    c = Client(fresh)
    c.control("config", {"scroll_page_size": 10})
    first = c.ok("get", "/companies/scroll")
    param = first["scroll_param"]
    assert first["pages"] is None and first["total_count"] is None and len(first["data"]) == 10
    error_of(c.get("/companies/scroll"), 400, "scroll_exists")  # one open scroll per app
    pages = 1
    while True:
        page = c.ok("get", "/companies/scroll", scroll_param=param)
        assert page["scroll_param"] == param  # the same parameter for every page
        if not page["data"]:
            break
        pages += 1
    assert pages == 3
    error_of(c.get("/companies/scroll", scroll_param=param), 404, "not_found")  # closed at the end
    # idle expiry
    c.control("config", {"scroll_expiry": 0.3})
    param = c.ok("get", "/companies/scroll")["scroll_param"]
    # idle: a new scroll is refused while this one lives, and allowed once it has expired (nothing polls it)
    wait_until(lambda: c.get("/companies/scroll").status_code == 200, "the idle scroll to expire", timeout=30)
    error_of(c.get("/companies/scroll", scroll_param=param), 404, "not_found")
    c.control("config", {"scroll_expiry": 60})
    # a killed run's scroll blocks the next one; a scroll_reset fault closes it
    c.control("open_scroll", {})
    error_of(c.get("/companies/scroll"), 400, "scroll_exists")
    c.control("faults", {"path": "/companies/scroll", "kind": "scroll_reset"})
    assert "restart the scroll" in error_of(c.get("/companies/scroll"), 500, "server_error")
    assert len(c.ok("get", "/companies/scroll")["data"]) == 10


def test_faults_never_advance_a_scroll(fresh):
    c = Client(fresh)
    c.control("config", {"scroll_page_size": 10})
    page = c.ok("get", "/companies/scroll")
    c.control("faults", {"path": "/companies/scroll", "kind": "503"})
    assert c.get("/companies/scroll", scroll_param=page["scroll_param"]).status_code == 503
    second = c.ok("get", "/companies/scroll", scroll_param=page["scroll_param"])
    assert second["data"][0]["id"] == sorted(fresh.ws.companies)[10]


# ---- conversation parts and sub-lists --------------------------------------------------------------------
def test_500_part_cap(emu, truth):
    c = Client(emu)
    cut = truth["cut_conversations"]
    assert cut
    conv = c.ok("get", "/conversations/" + cut[0])
    parts = conv["conversation_parts"]
    assert len(parts["conversation_parts"]) == 500 and parts["total_count"] > 500
    stored = emu.ws.parts[cut[0]]
    assert [p["id"] for p in parts["conversation_parts"]] == [p["id"] for p in stored[-500:]]  # most recent
    times = [p["created_at"] for p in parts["conversation_parts"]]
    assert times == sorted(times)  # oldest first
    served = [dict(p, conversation_id=cut[0]) for p in parts["conversation_parts"]]
    assert served == [p for p in truth["conversation_parts"] if p["conversation_id"] == cut[0]]


def test_has_more_sub_lists(emu, truth):
    c = Client(emu)
    for name in ("tags", "companies", "notes"):
        full = next(u for u in truth["users"] if u[name]["has_more"])
        served = c.ok("get", "/contacts/" + full["id"])[name]
        assert len(served["data"]) == 10 and served["total_count"] == len(full[name]["data"]) > 10
        assert served["data"] == full[name]["data"][:10]
        sub = c.ok("get", served["url"], per_page=150)
        assert [x["id"] for x in sub["data"]] == [x["id"] for x in full[name]["data"]]
        if name == "tags":
            assert all({"name", "applied_at", "applied_by"} <= set(t) for t in sub["data"])
    assert any(not u["companies"]["has_more"] and u["companies"]["total_count"] for u in truth["users"])


# ---- auth, versions, limits ------------------------------------------------------------------------------
def test_auth_scopes_and_versions(fresh):
    c = Client(fresh)
    r = requests.get(fresh.url + "/tags", timeout=5)
    error_of(r, 401, "unauthorized")
    assert "X-RateLimit-Limit" not in r.headers
    error_of(Client(fresh, token="wrong").get("/tags"), 401, "unauthorized")
    c.control("config", {"tokens": {"limited": ["read_tags", "read_admins"]}})
    lim = Client(fresh, token="limited")
    assert lim.get("/tags").status_code == 200
    msg = error_of(lim.get("/conversations/200000001"), 403, "forbidden")
    assert "read_conversations" in msg
    error_of(Client(fresh, version="2.99").get("/tags"), 400, "intercom_version_invalid")
    for v in ("1.0", "2.16", "Unstable", "Preview", None):
        assert Client(fresh, version=v).get("/tags").status_code == 200
    stats = c.control("stats")
    assert stats["versions"]["2.14"] >= 2 and stats["versions"]["2.99"] == 1 and stats["versions"]["Preview"] == 1


def test_rate_limit(fresh):
    c = Client(fresh)
    c.control("config", {"rate_limit": 5, "rate_window": 3600})
    statuses = []
    for _ in range(7):
        r = c.get("/tags")
        statuses.append(r.status_code)
        assert r.headers["X-RateLimit-Limit"] == "5"
        assert int(r.headers["X-RateLimit-Reset"]) % 3600 == 0 and int(r.headers["X-RateLimit-Reset"]) > time.time()
    assert statuses == [200] * 5 + [429] * 2
    assert "3600" in error_of(r, 429, "rate_limit_exceeded") and r.headers["X-RateLimit-Remaining"] == "0"
    c.control("config", {"rate_limit": 1667, "rate_window": 1})
    # a new window brings the whole budget back: the first request of a window leaves 1666
    wait_until(lambda: c.get("/tags").headers["X-RateLimit-Remaining"] == "1666", "a fresh rate-limit window",
               timeout=30)


# ---- faults ----------------------------------------------------------------------------------------------
def test_fault_kinds(fresh):
    c = Client(fresh)
    codes = {"500": "server_error", "502": "bad_gateway", "503": "service_unavailable", "504": "gateway_timeout",
             "429": "rate_limit_exceeded", "401": "unauthorized", "403": "api_plan_restricted", "404": "not_found"}
    for kind, code in codes.items():
        c.control("faults", {"method": "GET", "path": "/teams", "kind": kind, "count": 1})
        error_of(c.get("/teams"), int(kind), code)
        assert c.get("/teams").status_code == 200  # only the next matching request
    c.control("faults", {"path": "/teams", "kind": "nonjson"})
    r = c.get("/teams")
    assert r.status_code == 200 and r.text.startswith("<html>")
    c.control("faults", {"path": "/teams", "kind": "empty"})
    r = c.get("/teams")
    assert r.status_code == 200 and r.content == b""
    c.control("faults", {"path": "/teams", "kind": "drop"})
    with pytest.raises(requests.ConnectionError):
        requests.get(fresh.url + "/teams", headers=c.headers, timeout=5)
    c.control("config", {"slow_seconds": 0.3})
    c.control("faults", {"path": "/teams", "kind": "slow"})
    t = time.monotonic()
    # a lower bound only (the emulator sleeps before answering): a busy machine cannot make it fail
    assert c.get("/teams").status_code == 200 and time.monotonic() - t >= 0.3
    c.control("faults", {"method": "POST", "path": "/teams", "kind": "500"})  # wrong method: not applied
    assert c.get("/teams").status_code == 200
    c.control("config", {"fault_rate": 1.0, "fault_kinds": ["503"]})
    assert [c.get("/tags").status_code for _ in range(3)] == [503] * 3
    c.control("config", {"fault_rate": 0})
    assert c.get("/tags").status_code == 200
    stats = c.control("stats")
    assert stats["by_status"]["dropped"] == 1 and stats["by_status"]["503"] == 4  # 1 queued + 3 random


def test_a_fault_from_after_hits_only_searches_starting_then_or_later(fresh):
    c = Client(fresh)
    now = c.control("config")["now"]
    c.control("faults", {"path": "/contacts/search", "kind": "503", "count": 5, "from_after": now})

    def search(start):
        return c.post("/contacts/search", {"query": {"operator": "AND", "value": [
            {"field": "updated_at", "operator": ">", "value": start},
            {"field": "role", "operator": "=", "value": "user"}]}})
    assert search(now - 86400).status_code == 200  # starts before: served
    assert c.post("/contacts/search", {"query": {"field": "role", "operator": "=", "value": "user"}}).status_code \
        == 200  # no range at all: served
    error_of(search(now + 86400), 503, "service_unavailable")  # in the workspace's future: faulted


def test_latency_is_per_request_and_concurrency_is_counted(fresh):
    """Each request waits out its latency on its own thread: 8 sent at once are all in flight together (a server
    that served them one at a time would never hold more than one), and the emulator counts them."""
    c = Client(fresh)
    c.control("config", {"latency_ms": 3000})  # long enough for 8 threads to start on a busy machine
    c.control("reset_stats", {})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(lambda: Client(fresh).get("/teams").status_code) for _ in range(8)]
        wait_until(lambda: c.control("stats")["in_flight"] == 8, "8 requests in flight at once", timeout=30)
        assert [a.result(timeout=60) for a in answers] == [200] * 8
    assert c.control("stats")["max_concurrency"] == 8


def test_many_keep_alive_connections(fresh):
    def worker(_):
        s = requests.Session()
        headers = {"Authorization": "Bearer " + TOKEN}
        return [s.get(fresh.url + "/teams", headers=headers, timeout=10).status_code for _ in range(3)]
    with concurrent.futures.ThreadPoolExecutor(200) as pool:
        results = list(pool.map(worker, range(200)))
    assert all(r == [200, 200, 200] for r in results)


# ---- stats, mutations, truth -----------------------------------------------------------------------------
def test_stats_templates_and_write_calls(fresh):
    c = Client(fresh)
    c.control("reset_stats", {})
    cid = next(iter(fresh.ws.contacts))
    c.get("/contacts/" + cid)
    c.get("/contacts/%s/tags" % cid)
    c.s.get(fresh.url + "//contacts/%s/tags" % cid, headers=c.headers)  # a client's double slash
    c.post("/contacts/search", {"query": ALL_CONTACTS})
    c.post("/companies/list")
    assert c.s.put(fresh.url + "/contacts/" + cid, json={}, headers=c.headers).status_code == 405
    assert c.s.delete(fresh.url + "/tags/1", headers=c.headers).status_code == 404
    c.control("truth")  # control calls are not counted
    s = c.control("stats")
    assert s["requests"] == 7 and s["write_calls"] == 2
    assert s["by_endpoint"]["GET /contacts/{id}/tags"] == 2 and s["by_endpoint"]["PUT /contacts/{id}"] == 1
    assert s["by_endpoint"]["POST /contacts/search"] == 1 and s["by_endpoint"]["POST /companies/list"] == 1
    assert s["by_status"] == {"200": 5, "405": 1, "404": 1} and s["max_concurrency"] == 1


def test_mutations(fresh):
    c = Client(fresh)
    before = c.control("truth")
    made = c.control("mutate", {"action": "create", "stream": "users", "count": 2})
    assert len(made["ids"]) == 2 and made["updated_at"] >= fresh.ws.clock
    got = c.ok("get", "/contacts/" + made["ids"][0])
    assert got["role"] == "user" and got["created_at"] == got["updated_at"] == made["updated_at"]
    lead = c.control("mutate", {"action": "create", "stream": "contacts", "count": 1})["ids"][0]
    assert c.ok("get", "/contacts/" + lead)["role"] == "lead"
    conv = c.control("mutate", {"action": "create", "stream": "conversations", "count": 1})["ids"][0]
    co = c.control("mutate", {"action": "create", "stream": "companies", "count": 1})["ids"][0]
    upd = c.control("mutate", {"action": "update", "stream": "companies", "ids": [co], "updated_at": 1234567890})
    assert c.ok("get", "/companies/" + co)["updated_at"] == 1234567890 == upd["updated_at"]
    victim = before["users"][0]["id"]
    c.control("mutate", {"action": "delete", "stream": "users", "ids": [victim]})
    error_of(c.get("/contacts/" + victim), 404, "not_found")
    n = before["conversations"][0]
    res = c.control("mutate", {"action": "add_parts", "ids": [n["id"]], "count": 3})
    after_conv = c.ok("get", "/conversations/" + n["id"])
    assert after_conv["updated_at"] == res["updated_at"] > n["updated_at"]
    assert [p["id"] for p in after_conv["conversation_parts"]["conversation_parts"][-3:]] == res["part_ids"]
    target = before["contacts"][0]
    c.control("mutate", {"action": "tag", "ids": [target["id"]], "count": 12})
    tagged = c.ok("get", "/contacts/" + target["id"])
    assert tagged["tags"]["total_count"] == target["tags"]["total_count"] + 12 and tagged["tags"]["has_more"]
    updated = c.control("mutate", {"action": "update", "stream": "conversations", "count": 2})
    assert len(updated["ids"]) == 2
    after = c.control("truth")
    assert len(after["users"]) == len(before["users"]) + 1 and victim not in {u["id"] for u in after["users"]}
    assert len(after["contacts"]) == len(before["contacts"]) + 1
    assert conv in {x["id"] for x in after["conversations"]} and co in {x["id"] for x in after["companies"]}
    assert set(res["part_ids"]) <= {p["id"] for p in after["conversation_parts"]}
    r = requests.post(fresh.url + "/_emulator/mutate", json={"action": "explode"}, timeout=5)
    assert r.status_code == 400


def test_truth_matches_what_the_api_serves(emu, truth):
    c = Client(emu)
    served = {r["id"]: r for r in c.search_all("contacts", ALL_CONTACTS)}
    for stream, role in (("users", "user"), ("contacts", "lead")):
        for rec in truth[stream]:
            assert rec["role"] == role
            api = served[rec["id"]]
            for name in ("tags", "companies", "notes"):
                assert api[name]["data"] == rec[name]["data"][:10]
                assert len(rec[name]["data"]) == rec[name]["total_count"] == api[name]["total_count"]
            assert {k: v for k, v in api.items() if k not in ("tags", "companies", "notes")} == \
                {k: v for k, v in rec.items() if k not in ("tags", "companies", "notes")}
    rows = [dict(p, contact_id=r["id"]) for r in truth["users"] + truth["contacts"] for p in r["social_profiles"]["data"]]
    key = lambda p: (p["contact_id"], p["name"])
    assert sorted(rows, key=key) == sorted(truth["social_profiles"], key=key)
    assert set(truth["social_profiles"][0]) == {"contact_id", "type", "name", "url"}
    convs = {r["id"]: r for r in c.search_all("conversations", ALL_CONVERSATIONS)}
    assert [convs[r["id"]] for r in truth["conversations"]] == truth["conversations"]
    parts = []
    for cid in sorted(convs):
        parts.extend(dict(p, conversation_id=cid)
                     for p in c.ok("get", "/conversations/" + cid)["conversation_parts"]["conversation_parts"])
    assert parts == truth["conversation_parts"]
    assert c.ok("get", "/admins")["admins"] == [{k: v for k, v in a.items() if k != "avatar"} for a in truth["admins"]]
    assert c.ok("get", "/teams")["teams"] == truth["teams"]
    assert c.ok("get", "/companies", per_page=150)["total_count"] == len(truth["companies"])
    one = c.control("truth?stream=teams")
    assert one == truth["teams"]


def test_same_seed_same_workspace():
    a = make(contacts=50, companies=10, conversations=10, clock="2025-06-01T12:00:00Z")
    b = make(contacts=50, companies=10, conversations=10, clock="2025-06-01T12:00:00Z")
    try:
        ta, tb = a.truth(), b.truth()
        assert json.dumps(ta, sort_keys=True) == json.dumps(tb, sort_keys=True)
        clock, stamps = a.ws.clock, []
        def walk(node, key=""):
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, k)
            elif isinstance(node, list):
                for v in node:
                    walk(v, key)
            elif isinstance(node, int) and not isinstance(node, bool) and (
                    key.endswith(("_at", "_until", "_since")) or key in ("trial_ends_at", "1st_contract_at")):
                stamps.append(node)
        walk(ta)
        assert len(stamps) > 1000
        assert min(stamps) >= clock - 365 * DAY and max(stamps) <= clock - 600
    finally:
        a.stop()
        b.stop()


# ---- CLI and the published peer --------------------------------------------------------------------------
def test_cli(tmp_path):
    ready = tmp_path / "url"
    p = subprocess.Popen([sys.executable, "-m", "intercom_emulator", "--port", "0", "--contacts", "20",
                          "--companies", "5", "--conversations", "5", "--ready-file", str(ready)],
                         cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        assert line.startswith("intercom-emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert ready.read_text().strip() == url
        assert requests.get(url + "/_emulator/health", timeout=5).json() == {"ok": True}
        r = requests.get(url + "/tags", headers={"Authorization": "Bearer emulator-token"}, timeout=5)
        assert r.status_code == 200
    finally:
        p.terminate()
        p.wait(10)


# the published peer (tap-intercom 2.2.5) in its own venv, made by scripts/e2e_setup.sh; its runner in ../shared
PEER_PY = os.path.join(ROOT, ".e2e", "peer", "bin", "python")
RUN_PEER = os.path.join(ROOT, "..", "shared", "peer", "run_peer.py")


def test_peer_full_sync(tmp_path):
    assert os.path.exists(PEER_PY), f"{PEER_PY} is missing: run scripts/e2e_setup.sh (scripts/test.sh does)"
    assert os.path.exists(RUN_PEER), f"{RUN_PEER} is missing: ../shared must sit beside the checkout, as in CI"
    e = make(contacts=120, companies=20, conversations=25)
    try:
        env = dict(os.environ, INTERCOM_BASE_URL=e.url)
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps({"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z", "user_agent": "t"}))
        catalog = json.loads(subprocess.run([PEER_PY, RUN_PEER, "--config", str(cfg), "--discover"], env=env,
                                            check=True, capture_output=True, text=True).stdout)
        for stream in catalog["streams"]:
            for m in stream["metadata"]:
                m["metadata"]["selected"] = True
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        out = subprocess.run([PEER_PY, RUN_PEER, "--config", str(cfg), "--catalog", str(tmp_path / "catalog.json")],
                             env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-3000:]
        counts = {}
        for line in out.stdout.splitlines():
            msg = json.loads(line)
            if msg["type"] == "RECORD":
                counts[msg["stream"]] = counts.get(msg["stream"], 0) + 1
        truth = e.truth()
        assert counts["contacts"] == len(truth["users"]) + len(truth["contacts"])
        assert counts["companies"] == len(truth["companies"])
        assert counts["conversations"] == len(truth["conversations"])
        assert counts["conversation_parts"] == len(truth["conversation_parts"])
        for s in ("admins", "teams", "tags", "segments", "company_segments", "company_attributes",
                  "contact_attributes"):
            expected = [r for r in truth[s] if not (s.endswith("_attributes") and r["archived"])]
            assert counts[s] == len(expected), s  # the peer does not ask for archived attributes
        assert e.stats()["write_calls"] == 0 and e.stats()["versions"] == {"2.12": e.stats()["requests"]}
    finally:
        e.stop()


def test_removals_merges_conversions_and_deleted_conversations(fresh):
    c, c216 = Client(fresh), Client(fresh, version="2.16")
    before = c.control("truth")
    users = [u["id"] for u in before["users"]]
    leads = [x["id"] for x in before["contacts"]]
    merged = c.control("mutate", {"action": "merge", "ids": leads[:2], "into": users[0]})
    for lead in leads[:2]:
        error_of(c.get("/contacts/" + lead), 404, "not_found")
    assert c.ok("get", "/contacts/" + users[0])["updated_at"] == merged["updated_at"]
    converted = c.control("mutate", {"action": "convert", "ids": [leads[2]]})
    got = c.ok("get", "/contacts/" + leads[2])
    assert got["role"] == "user" and got["updated_at"] == converted["updated_at"]
    people = [p for p in before["users"][1:] + before["contacts"][3:] if p["social_profiles"]["data"]]
    c.control("mutate", {"action": "remove_social_profile", "ids": [people[0]["id"]]})
    c.control("mutate", {"action": "change_social_profile", "ids": [people[1]["id"]]})
    profiles = c.ok("get", "/contacts/" + people[1]["id"])["social_profiles"]["data"]
    assert profiles[0]["url"] != people[1]["social_profiles"]["data"][0]["url"]
    tag = before["tags"][0]["id"]
    c.control("mutate", {"action": "delete", "stream": "tags", "ids": [tag]})
    conversations = [x["id"] for x in before["conversations"][:3]]
    gone = c.control("mutate", {"action": "delete", "stream": "conversations", "ids": conversations})
    after = c.control("truth")
    assert {u["id"] for u in after["users"]} == set(users) | {leads[2]}
    assert {x["id"] for x in after["contacts"]} == set(leads[3:])
    rows = {(p["contact_id"], p["url"]) for p in after["social_profiles"]}
    first = [(p["id"], p["social_profiles"]["data"][0]["url"]) for p in people[:2]]
    assert not set(first) & rows and (people[1]["id"], profiles[0]["url"]) in rows
    assert not {p["contact_id"] for p in after["social_profiles"]} & set(leads[:2])
    assert tag not in {t["id"] for t in after["tags"]} and not any(
        t["id"] == tag for p in after["users"] + after["contacts"] for t in p["tags"]["data"])
    assert not any(t["id"] == tag for co in after["companies"] for t in co["tags"]["tags"])
    # GET /conversations/deleted: 2.16 and later only, newest first by default, at most 60 a page.
    error_of(c.get("/conversations/deleted"), 400, "intercom_version_invalid")
    listed = c216.ok("get", "/conversations/deleted", per_page=2, order="asc")
    assert listed["type"] == "conversations.list" and listed["total_count"] == 3
    assert [x["id"] for x in listed["conversations"]] == conversations[:2] and listed["pages"]["next"]
    assert listed["conversations"][0] == {"type": "conversation", "id": conversations[0],
                                          "deleted_at": gone["updated_at"], "metrics_retained": False}
    assert c216.ok("get", "/conversations/deleted", per_page=500)["pages"]["per_page"] == 60
    assert after["deleted_conversations"] == sorted(listed["conversations"] + c216.ok(
        "get", "/conversations/deleted", per_page=2, page=2, order="asc")["conversations"], key=lambda x: x["id"])


# ---- fields Intercom starts sending (extra_fields) -------------------------------------------------------
def test_extra_fields_reach_every_served_object_and_the_truth(fresh):
    c = Client(fresh)
    before = c.control("truth")
    cfg = c.control("config", {"extra_fields": {
        "contact": {"loyalty_tier": "gold", "preferences": {"channel": "sms", "weekly": True},
                    "badges": [{"name": "early"}], "location.region_code": "XX",
                    "social_profiles.data.*.verified": True, "no_such_parent.key": 1},
        "conversation": {"partner_channel": {"type": "channel", "id": 7}, "statistics.count_bot_replies": 2},
        "conversation_part": {"reactions": ["👍"]},
        "company": {"health_score": 0.75}, "admin": {"out_of_office": False},
        "ticket": {"sla_due_at": 1700000000}, "ticket_part": {"channel": "email"},
        "article": {"ai_summary": "short"}, "collection": {"audience": "everyone"},
        "tag": {"color": "red"}}})
    assert cfg["extra_fields"]["contact"]["loyalty_tier"] == "gold"
    assert c.control("config")["extra_fields"] == cfg["extra_fields"]

    def has_contact_fields(rec):
        assert rec["loyalty_tier"] == "gold" and rec["preferences"] == {"channel": "sms", "weekly": True}
        assert rec["badges"] == [{"name": "early"}] and "no_such_parent" not in rec
        assert rec["location"]["region_code"] == "XX" and rec["location"]["type"] == "location"
        assert all(p["verified"] is True for p in rec["social_profiles"]["data"])

    found = c.search_all("contacts", ALL_CONTACTS)
    assert len(found) == len(before["users"]) + len(before["contacts"])
    for rec in found[:50]:
        has_contact_fields(rec)
    has_contact_fields(c.ok("get", "/contacts", per_page=5)["data"][0])
    has_contact_fields(c.ok("get", "/contacts/" + found[0]["id"]))
    # references to a contact inside a conversation are not contact records
    convs = c.search_all("conversations", ALL_CONVERSATIONS)
    assert all(x["partner_channel"] == {"type": "channel", "id": 7} for x in convs)
    assert all(x["statistics"]["count_bot_replies"] == 2 and "time_to_assignment" in x["statistics"] for x in convs)
    assert all("loyalty_tier" not in ref for x in convs for ref in x["contacts"]["contacts"])
    one = c.ok("get", "/conversations/" + convs[0]["id"])
    assert one["partner_channel"]["id"] == 7
    assert all(p["reactions"] == ["👍"] for p in one["conversation_parts"]["conversation_parts"])
    assert all(x["health_score"] == 0.75 for x in c.ok("get", "/companies", per_page=50)["data"])
    assert all(x["health_score"] == 0.75 for x in c.ok("get", "/companies/scroll")["data"])
    assert c.ok("get", "/admins")["admins"][0]["out_of_office"] is False
    assert all(t["color"] == "red" for t in c.ok("get", "/tags")["data"])
    tickets = c.ok("post", "/tickets/search", {"query": {"field": "created_at", "operator": ">", "value": 0}})
    assert tickets["tickets"] and all(t["sla_due_at"] == 1700000000 for t in tickets["tickets"])
    detail = c.ok("get", "/tickets/" + tickets["tickets"][0]["id"])
    assert detail["sla_due_at"] == 1700000000
    assert all(p["channel"] == "email" for p in detail["ticket_parts"]["ticket_parts"])
    assert all(a["ai_summary"] == "short" for a in c.ok("get", "/articles")["data"])
    assert all(x["audience"] == "everyone" for x in c.ok("get", "/help_center/collections")["data"])

    truth = c.control("truth")
    for rec in truth["users"] + truth["contacts"]:
        has_contact_fields(rec)
    assert all(p["verified"] for p in truth["social_profiles"])
    assert all(x["partner_channel"]["id"] == 7 for x in truth["conversations"])
    assert all(p["reactions"] == ["👍"] for p in truth["conversation_parts"])
    assert all(p["channel"] == "email" for p in truth["ticket_parts"])
    assert all(x["audience"] == "everyone" for x in truth["help_center_collections"])
    assert all("health_score" in x for x in truth["companies"]) and all(t["color"] == "red" for t in truth["tags"])
    # stored records are unchanged: the fields are added as the objects are served
    assert "loyalty_tier" not in next(iter(fresh.ws.contacts.values()))

    # null removes one field, {"type": null} all of a type; served pages follow at once (no stale cache)
    cfg = c.control("config", {"extra_fields": {"contact": {"loyalty_tier": None}, "conversation": None}})
    assert "loyalty_tier" not in cfg["extra_fields"]["contact"] and "conversation" not in cfg["extra_fields"]
    rec = c.search_all("contacts", ALL_CONTACTS)[0]
    assert "loyalty_tier" not in rec and rec["badges"] == [{"name": "early"}]
    assert all("partner_channel" not in x for x in c.search_all("conversations", ALL_CONVERSATIONS))
    fresh.configure(extra_fields={"contact": None, "conversation_part": None, "company": None, "admin": None,
                                  "ticket": None, "ticket_part": None, "article": None, "collection": None,
                                  "tag": None})
    assert fresh.config()["extra_fields"] == {}
    assert c.control("truth") == before
    r = requests.post(fresh.url + "/_emulator/config", json={"extra_fields": {"contact": ["x"]}}, timeout=5)
    assert r.status_code == 400


def test_extra_fields_from_the_test_fixture(emulator):
    emulator.configure(extra_fields={"contact": {"future_field": 1}})
    assert emulator.truth("users")["users"][0]["future_field"] == 1


def test_records_have_the_shapes_live_workspaces_send(emu, truth):
    """API-NOTES section 10: what recorded responses hold that the spec does not say."""
    c = Client(emu)
    convs = c.search_all("conversations", ALL_CONVERSATIONS)
    for conv in convs:
        assert conv["teammates"]["type"] == "admin.list" and "teammates" not in conv["teammates"]
        assert [a["type"] for a in conv["teammates"]["admins"]] == ["admin"]
        assert conv["admin_assignee_id"] is None or type(conv["admin_assignee_id"]) is int
        assert conv["topics"]["type"] == "topic.list" and isinstance(conv["ai_agent_participated"], bool)
        assert conv["linked_objects"]["type"] == "list"
    assert any(type(x["team_assignee_id"]) is int for x in convs)
    assert any(x["ai_agent"] and x["ai_agent_participated"] for x in convs)
    assert any(x["ai_agent"] is None for x in convs)
    linked = [x for x in convs if x["ticket"]]
    assert linked and all(type(x["ticket"]["id"]) is int for x in linked)
    tickets = {t["id"]: t for t in truth["tickets"]}
    for x in linked:  # the ticket's own id is a string; the conversation holds it as an integer
        assert str(x["ticket"]["id"]) in tickets and x["linked_objects"]["data"][0]["id"] == str(x["ticket"]["id"])
        assert all(set(v) == {"value", "type"} for v in x["ticket"]["custom_attributes"].values())
    odd = [x["custom_attributes"] for x in convs if "Created by" in x["custom_attributes"]]
    assert odd and all(type(a["Created by"]) is int and isinstance(a["Fin AI Agent: Preview"], bool) for a in odd)
    # search by teammate reads the admins list
    admin = convs[0]["teammates"]["admins"][0]["id"]
    found = c.search_all("conversations", {"field": "teammate_ids", "operator": "=", "value": admin})
    assert convs[0]["id"] in {x["id"] for x in found}
    assert {x["id"] for x in found} == {x["id"] for x in convs if x["teammates"]["admins"][0]["id"] == admin}

    people = c.search_all("contacts", ALL_CONTACTS)
    for p in people:
        assert isinstance(p["sms_consent"], bool) and isinstance(p["unsubscribed_from_sms"], bool)
        assert {"utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term", "referrer"} <= set(p)
        assert "android_app_name" in p and "ios_device" in p  # explicit nulls
        assert {"country_code", "continent_code"} <= set(p["location"])
        for key in ("opted_in_subscription_types", "opted_out_subscription_types"):
            assert p[key]["type"] == "list" and p[key]["total_count"] == len(p[key]["data"])
    assert any(p["sms_consent"] for p in people) and any(p["utm_source"] for p in people)
    assert any(p["opted_out_subscription_types"]["data"] for p in people)
    assert any(p["opted_in_subscription_types"]["data"] for p in people)

    articles = c.ok("get", "/articles", per_page=50)["data"]
    assert all(type(a["content_id"]) is int and type(a["author_id"]) is int for a in articles)
    logs = truth["activity_logs"]
    assert any(type(x["metadata"].get("admin", {}).get("id")) is int for x in logs)
    assert any(type(x["metadata"].get("team", {}).get("id")) is int for x in logs)
    assert all(type(x["performed_by"]["id"]) is str for x in logs)
    assert all(type(t["admin_assignee_id"]) is str for t in truth["tickets"])
    assert "0" in {t["admin_assignee_id"] for t in truth["tickets"]}


def test_search_index_finds_what_a_full_scan_finds():
    """The emulator's updated_at index (search.py) only narrows the records a query is tested on: a search
    bounded on updated_at (a tap's window, any operator, a contact's whole-day dates in any timezone) matches
    exactly what testing every record matches."""
    import random

    from intercom_emulator.search import Searcher, compile_query
    from intercom_emulator.workspace import Workspace

    rng = random.Random(5)
    for tz in (0, -11, 13.5):
        ws = Workspace(seed=3, contacts=400, companies=20, conversations=120, tz_offset_hours=tz)
        searcher = Searcher(ws)
        for kind in ("contacts", "conversations"):
            ats = sorted(r["updated_at"] for r in ws.records(kind))
            for _ in range(60):
                filters = []
                for op in rng.sample([">", "<", "=", ">=", "<="] if kind == "conversations" else [">", "<", "="], 2):
                    at = rng.choice(ats) + rng.choice((-86400, -1, 0, 1, 3600, 86400))
                    filters.append({"field": "updated_at", "operator": op,
                                    "value": str(at) if rng.random() < 0.2 else at})
                if rng.random() < 0.5:
                    filters.append({"field": "id", "operator": "!=", "value": "x"})
                query = filters[0] if rng.random() < 0.2 else {"operator": "AND", "value": filters}
                rows, _ = searcher._keys(kind, query, "updated_at")
                pred = compile_query(query, kind, ws)
                assert rows == sorted((r["updated_at"], r["id"]) for r in ws.records(kind) if pred(r)), query
