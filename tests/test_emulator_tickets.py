"""The emulator's tickets, activity logs, help center, news and subscription types: every response validates
against the 2.14 response schema of its endpoint (tests/fixtures, extracted by scripts/spec_responses.py),
paging reaches every record once, ticket mutations and scopes behave."""
import json
import os

import jsonschema
import pytest
import requests

from intercom_emulator import Emulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "test-token"
SPEC = json.load(open(os.path.join(ROOT, "tests", "fixtures", "openapi-2.14-responses.json"), encoding="utf-8"))


def json_schema(node, seen=()):
    """OpenAPI 3.0 schema -> JSON Schema draft 4: $refs inlined (a recursive one becomes {}), `nullable`
    as a null alternative."""
    if isinstance(node, list):
        return [json_schema(item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return {} if name in seen else json_schema(SPEC["components"][name], seen + (name,))
    out = {key: json_schema(value, seen) for key, value in node.items()
           if key not in ("nullable", "example", "examples", "description", "title", "x-tags", "format")}
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


VALIDATORS = {endpoint: jsonschema.Draft4Validator(json_schema(schema))
              for endpoint, schema in SPEC["responses"].items()}


@pytest.fixture(scope="module")
def emu():
    e = Emulator(seed=5, contacts=60, companies=10, conversations=10, token=TOKEN).start()
    yield e
    e.stop()


def call(emu, method, path, token=TOKEN, **kw):
    return requests.request(method, emu.url + path, headers={"Authorization": "Bearer " + token}, timeout=10, **kw)


def valid(endpoint, response):
    assert response.status_code == 200, response.text
    body = response.json()
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATORS[endpoint].iter_errors(body)]
    assert not errors, f"{endpoint}: {errors[:5]}"
    return body


def read_all(emu, endpoint, path, envelope, params=None):
    """Every record of a listing, following pages.next (URL or cursor) or, without it, total_pages."""
    out, url, params = [], path, dict(params or {}, per_page=7)
    while True:
        body = valid(endpoint, call(emu, "GET", url, params=params))
        out.extend(body[envelope])
        pages = body.get("pages") or {}
        following = pages.get("next")
        if isinstance(following, str):
            url, params = following[len(emu.url):], None
        elif isinstance(following, dict):
            params = dict(params or {}, starting_after=following["starting_after"])
            params.pop("page", None)
        elif pages and pages["page"] < pages["total_pages"]:
            params = dict(params or {}, page=pages["page"] + 1, per_page=pages["per_page"])
        else:
            return out


@pytest.mark.parametrize("stream, path, envelope, params", [
    ("ticket_types", "/ticket_types", "data", None),
    ("ticket_states", "/ticket_states", "data", None),
    ("activity_logs", "/admins/activity_logs", "activity_logs", {"created_at_after": 0}),
    ("articles", "/articles", "data", None),
    ("help_center_collections", "/help_center/collections", "data", None),
    ("help_centers", "/help_center/help_centers", "data", None),
    ("news_items", "/news/news_items", "data", None),
    ("newsfeeds", "/news/newsfeeds", "data", None),
    ("subscription_types", "/subscription_types", "data", None),
])
def test_listings_validate_against_the_spec_and_reach_every_record_once(emu, stream, path, envelope, params):
    records = read_all(emu, "GET " + path, path, envelope, params)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    assert sorted(records, key=lambda r: r["id"]) == emu.truth(stream)


def test_articles_are_newest_first_in_several_languages(emu):
    articles = read_all(emu, "GET /articles", "/articles", "data")
    assert [a["updated_at"] for a in articles] == sorted((a["updated_at"] for a in articles), reverse=True)
    assert len({loc for a in articles for loc in a["translated_content"] if loc != "type"}) >= 3


def test_activity_logs_cover_a_year_and_honour_the_window(emu):
    logs = emu.truth("activity_logs")
    assert logs[-1]["created_at"] - logs[0]["created_at"] > 360 * 86400 or \
        max(x["created_at"] for x in logs) - min(x["created_at"] for x in logs) > 360 * 86400
    middle = sorted(x["created_at"] for x in logs)[len(logs) // 2]
    window = read_all(emu, "GET /admins/activity_logs", "/admins/activity_logs", "activity_logs",
                      {"created_at_after": middle, "created_at_before": middle + 30 * 86400})
    assert window and all(middle <= x["created_at"] <= middle + 30 * 86400 for x in window)
    assert call(emu, "GET", "/admins/activity_logs").status_code == 400  # created_at_after is required


def test_tickets_search_and_detail_validate_and_show_the_500_part_cap(emu):
    truth = emu.truth()
    body, found = {"query": {"field": "updated_at", "operator": ">", "value": 0},
                   "sort": {"field": "updated_at", "order": "ascending"}, "pagination": {"per_page": 9}}, []
    while True:
        page = valid("POST /tickets/search", call(emu, "POST", "/tickets/search", json=body))
        found.extend(page["tickets"])
        following = page["pages"].get("next")
        if not following:
            break
        body["pagination"]["starting_after"] = following["starting_after"]
    ascending = sorted(truth["tickets"], key=lambda t: (t["updated_at"], t["id"]))
    assert [t["id"] for t in found] == [t["id"] for t in ascending]
    kinds = {type(v).__name__ for t in found for v in t["ticket_attributes"].values()}
    assert {"str", "int", "float", "bool", "list", "NoneType"} <= kinds
    for ticket_id in truth["cut_tickets"] + [found[1]["id"]]:
        detail = valid("GET /tickets/{ticket_id}", call(emu, "GET", "/tickets/" + ticket_id))
        parts = detail["ticket_parts"]
        assert len(parts["ticket_parts"]) == min(500, parts["total_count"])
    assert truth["cut_tickets"]
    assert call(emu, "GET", "/tickets/1").status_code == 404


def test_ticket_mutations_and_scopes():
    e = Emulator(seed=6, contacts=30, companies=5, conversations=5, tickets=8, token=TOKEN).start()
    try:
        control = lambda body: requests.post(e.url + "/_emulator/mutate", json=body, timeout=10).json()  # noqa
        before = e.truth("tickets")
        changed = control({"action": "update", "stream": "tickets", "ids": [before[0]["id"]]})
        made = control({"action": "create", "stream": "tickets", "count": 2})
        added = control({"action": "add_parts", "stream": "tickets", "ids": [before[1]["id"]], "count": 3})
        after = {t["id"]: t for t in e.truth("tickets")}
        assert after[before[0]["id"]]["updated_at"] == changed["updated_at"]
        assert set(made["ids"]) <= set(after) and len(after) == len(before) + 2
        assert after[before[1]["id"]]["updated_at"] == added["updated_at"]
        detail = call(e, "GET", "/tickets/" + before[1]["id"]).json()
        assert [p["id"] for p in detail["ticket_parts"]["ticket_parts"][-3:]] == added["part_ids"]
        requests.post(e.url + "/_emulator/config", json={"tokens": {"no-tickets": ["read_admins"]}}, timeout=10)
        for method, path in (("POST", "/tickets/search"), ("GET", "/ticket_types"), ("GET", "/ticket_states"),
                             ("GET", "/articles"), ("GET", "/news/newsfeeds"),
                             ("GET", "/help_center/help_centers")):
            r = call(e, method, path, token="no-tickets", json={"query": {}} if method == "POST" else None)
            assert r.status_code == 403 and r.json()["errors"][0]["code"] == "forbidden", (path, r.text)
    finally:
        e.stop()
