"""One stream's trouble stays in that stream: a per-record (child) endpoint that Intercom refuses for every record
(404 for all, 403, 400 "not available") or that keeps failing (5xx) costs its child stream alone, never the parent
or the siblings. The installed CLI against the emulator, every stream selected (as `select: ['*.*']` does), the
emulator refusing one child route at a time while every other route answers."""
import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from singer.transform import UNIX_SECONDS_INTEGER_DATETIME_PARSING, Transformer

from conftest import ROOT, discover, run_tap, select_streams, tap_config
from kept import declared_only
from test_sync import by_key, comparable, key_of, with_parent_cursor
from tap_intercom.reading.record_fetches import HELD, SURE, Endpoints
from tap_intercom.errors import ApiError, NotFound
from tap_intercom.streams import STREAMS

# The truth's streams a run compares (history streams are what a tap saw: not in the truth; the message streams'
# rows depend on the export's range: test_content_export compares them with the emulator's files).
COMPARED = [s.name for s in STREAMS if not s.history and s.name not in ("contact_merges", "deleted_conversations")
            and s.source.style != "content_export"]
KINDS = {"404": "404", "403": "api_plan_restricted", "unavailable": "not available in current API version"}
# route refused -> the stream it skips
CHILDREN = {"GET /conversations/{id}/handling_events": "conversation_handling_events",
            "GET /conversations/{id}": "conversation_parts",
            "GET /tickets/{id}": "ticket_parts",
            "GET /contacts/{id}/tags": "contact_tags"}


@pytest.fixture
def workspace(make_emulator):
    return make_emulator(seed=11, contacts=150, companies=20, conversations=30, tickets=6, activity_logs=50)


def everything(tmp_path, emulator):
    config = tap_config(emulator.url, max_retries=1)
    return config, select_streams(discover(tmp_path, config), {s.name for s in STREAMS})


def assert_equal_to_truth(run, truth, streams, lists_as_listed=False):
    """Each stream's records are the truth's, every declared field equal, as the schema the run announced (the
    discovered catalog types custom date attributes) makes them."""
    schemas = {m["stream"]: m["schema"] for m in run.messages if m["type"] == "SCHEMA"}
    for stream in streams:
        records = truth[stream]
        if lists_as_listed and stream in ("users", "contacts"):  # a refused tags list: the 10 the search embeds
            records = [{**c, "tags": {**c["tags"], "data": c["tags"]["data"][:10]}} for c in records]
        emitted = by_key(stream, run.records(stream))
        expected = {key_of(stream, r): r for r in (Transformer(UNIX_SECONDS_INTEGER_DATETIME_PARSING).transform(
            copy.deepcopy(r), schemas[stream]) for r in records)}
        assert set(emitted) == set(expected), f"{stream}: missing {set(expected) - set(emitted)}, " \
                                              f"extra {set(emitted) - set(expected)}"
        for key, record in expected.items():
            assert comparable(stream, declared_only(emitted[key], schemas[stream])) == comparable(stream, record), \
                f"{stream} {key}"


def moved(run, stream):
    """Whether the run left a bookmark for the stream (a reconciliation pass's version alone is not one)."""
    return "updated_at" in run.state["bookmarks"].get(stream, {})


def warnings_about(run, word):
    return [line for line in run.stderr.splitlines() if word in line]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("route", sorted(CHILDREN))
def test_a_refused_child_endpoint_skips_its_stream_alone(tmp_path, workspace, route, kind):
    config, catalog = everything(tmp_path, workspace)
    workspace.configure(refused_routes={route: kind})
    run = run_tap(tmp_path, config, catalog=catalog)  # exit 0: as if the stream were not selected
    child = CHILDREN[route]
    truth = with_parent_cursor(workspace.truth())
    # The parents and every other stream, their children included, are what Intercom holds.
    assert_equal_to_truth(run, truth, [s for s in COMPARED if s != child], lists_as_listed=child == "contact_tags")
    skipped = warnings_about(run, "skipping")
    assert len(skipped) == 1 and f"skipping {child}:" in skipped[0] and KINDS[kind] in skipped[0], skipped
    assert f"meltano select tap-intercom --exclude {child} '*'" in skipped[0]
    assert run.state["owed"] == [] and "Traceback" not in run.stderr
    if child == "contact_tags":
        # Contacts whose lists fit in the 10 embedded were written before a long list met the refusal: true
        # rows, but none of a list the refused endpoint would have completed. users and leads go on as listed.
        long_lists = {c["id"] for c in truth["users"] + truth["contacts"] if c["tags"]["total_count"] > 10}
        rows = by_key(child, run.records(child))
        assert set(rows) <= set(by_key(child, truth[child]))
        assert len(warnings_about(run, "keep the items their records embed")) == 1
        # the next run, Intercom serving the lists again, completes them: no gap
        workspace.configure(refused_routes={route: None})
        again = run_tap(tmp_path, config, catalog=catalog, state=run.state)
        got = set(rows) | set(by_key(child, again.records(child)))
        assert got == set(by_key(child, truth[child])) and long_lists
    else:
        assert not run.records(child)
        assert not moved(run, child)  # nothing was written: the bookmark did not move
        parent = "tickets" if child == "ticket_parts" else "conversations"
        assert parent in run.state["bookmarks"]


def test_a_child_failing_for_every_record_stops_alone_and_the_next_run_fills_it(tmp_path, workspace):
    config, catalog = everything(tmp_path, workspace)
    workspace.configure(refused_routes={"GET /conversations/{id}": "500"})
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.splitlines()[-1]
    assert last.startswith("tap-intercom: error: conversation_parts failed: the first 3 fetches failed") \
        and "500" in last, last
    truth = with_parent_cursor(workspace.truth())
    # conversations and every other child of the conversation search finish, and their bookmarks move
    assert_equal_to_truth(run, truth, [s for s in COMPARED if s != "conversation_parts"])
    assert not run.records("conversation_parts") and run.state["owed"] == []
    bookmarks = run.state["bookmarks"]
    assert not moved(run, "conversation_parts")
    assert {"conversations", "conversation_tags", "conversation_handling_events"} <= set(bookmarks)
    # Intercom answers again: the next run reads conversations from conversation_parts' own point (its start)
    workspace.configure(refused_routes={"GET /conversations/{id}": None})
    again = run_tap(tmp_path, config, catalog=catalog, state=run.state)
    assert_equal_to_truth(again, truth, ["conversation_parts"])
    assert again.state["owed"] == [] and "skipping" not in again.stderr


def test_owed_fetches_overflowing_stop_that_child_alone(tmp_path, make_emulator):
    """An endpoint that answered, then 404 for every later record: each is that record's own (owed) until more than
    MAX_OWED are; then that child stops, and the conversations finish and move."""
    emulator = make_emulator(seed=3, contacts=5, companies=2, conversations=120, tickets=1, activity_logs=5)
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"conversations", "conversation_handling_events"})
    emulator.faults(method="GET", path="/conversations/2", kind="404", count=10000, after=5)
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1].startswith("tap-intercom: error: conversation_handling_events failed: more "
                                                  "than 100 per-record fetches failed")
    assert len(run.records("conversations")) == 120 and moved(run, "conversations")
    assert not moved(run, "conversation_handling_events") and len(run.state["owed"]) == 100


def test_one_record_refused_with_a_404_is_a_refusal_not_an_owed_fetch(tmp_path, make_emulator):
    """With one conversation, its handling events answering 404 is all the run learns: skipped, exit 0."""
    emulator = make_emulator(seed=3, contacts=5, companies=2, conversations=1, tickets=1, activity_logs=5)
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"conversations", "conversation_handling_events"})
    emulator.configure(refused_routes={"GET /conversations/{id}/handling_events": "404"})
    run = run_tap(tmp_path, config, catalog=catalog)
    assert len(run.records("conversations")) == 1 and not run.records("conversation_handling_events")
    assert len(warnings_about(run, "skipping conversation_handling_events")) == 1
    assert run.state["owed"] == [] and not moved(run, "conversation_handling_events")


# ---- the rule itself: Endpoints, fed outcomes in record order -------------------------------------------------

def not_found(record_id):
    return NotFound(f"GET /conversations/{record_id}/handling_events: 404 not_found: Resource Not Found", 404)


def test_a_404_before_any_answer_is_held_then_owed_once_the_endpoint_answers():
    endpoints = Endpoints()
    assert endpoints.judge("handling", "events", "1", not_found("1")) == HELD
    assert endpoints.holding() == {"handling"}
    assert endpoints.judge("handling", "events", "2", None) is None  # served: the held 404 is that record's own
    assert endpoints.take() == [("owe", "handling", "1", "events: " + str(not_found("1")))]
    assert endpoints.holding() == set()
    assert endpoints.judge("handling", "events", "3", not_found("3")).startswith("events: GET")  # owed at once


def test_the_first_sure_404s_refuse_the_endpoint_and_owe_nothing():
    endpoints = Endpoints(completing={"users"})
    for record_id in map(str, range(SURE)):
        assert endpoints.judge("handling", "events", record_id, not_found(record_id)) == HELD
    news = endpoints.take()
    assert len(news) == 1 and news[0][:2] == ("skip", ["handling"]) and "404" in news[0][2]
    assert endpoints.holding() == set()
    assert endpoints.judge("handling", "events", "9", None) == HELD  # an answer in flight changes nothing now
    assert endpoints.admit({("handling", "events"): print}) == ({}, {"handling": HELD})  # not asked again
    assert endpoints.take() == []  # one warning, whatever comes after


def test_a_403_refuses_at_once_and_completing_streams_keep_their_records():
    endpoints = Endpoints(completing={"users"})
    forbidden = ApiError("the access token may not call GET /contacts/1/tags (403 api_plan_restricted)", 403)
    assert endpoints.judge("users", "tags", "1", forbidden) == HELD
    assert endpoints.judge("contact_tags", "tags", "1", forbidden) == HELD
    kinds = {kind: streams for kind, streams, _ in endpoints.take()}
    assert kinds == {"skip": ["contact_tags"], "partial": ["users"]}
    endpoints.judge("users", "notes", "1", forbidden)
    assert [news[:2] for news in endpoints.take()] == [("partial", ["users"])]  # one warning an endpoint
    assert endpoints.judge("users", "tags", "2", None) is None  # written as listed, nothing owed


def test_failures_that_are_not_all_404_fail_the_children_and_completing_streams_owe():
    endpoints = Endpoints(completing={"users"})
    broken = ApiError("GET /contacts/1/tags failed after 2 attempts: HTTP 500")
    endpoints.judge("users", "tags", "1", not_found("1"))
    endpoints.judge("contact_tags", "tags", "1", not_found("1"))
    endpoints.judge("users", "tags", "2", broken)
    endpoints.judge("contact_tags", "tags", "2", broken)
    assert endpoints.take() == []  # two records: not sure yet
    endpoints.judge("users", "tags", "3", broken)
    news = endpoints.take()
    assert [n[:3] for n in news if n[0] == "owe"] == [("owe", "users", "1"), ("owe", "users", "2"),
                                                      ("owe", "users", "3")]
    assert [n[:2] for n in news if n[0] != "owe"] == [("fail", ["contact_tags"])]
    assert endpoints.judge("users", "tags", "4", None).startswith("the first 3 fetches failed")


def test_the_source_ending_decides_what_is_still_held():
    endpoints = Endpoints()
    endpoints.judge("parts", "detail", "1", not_found("1"))
    endpoints.judge("events", "handling_events", "1", ApiError("GET /x failed after 2 attempts: HTTP 503"))
    endpoints.finish()
    assert {(kind, tuple(streams)) for kind, streams, _ in endpoints.take()} == {("skip", ("parts",)),
                                                                                 ("fail", ("events",))}


# ---- the official specs' examples, every stream selected --------------------------------------------------------

def serve_examples(examples):
    """The spec's 200 examples of each operation (the first page; a page asked after it is empty), 404 for an
    operation the spec lacks."""
    routes = [(method, re.compile("^" + path.replace("{id}", "[^/]+") + "$"), key)
              for key in sorted(examples, key=lambda key: "{" in key)  # literal paths first
              for method, path in [key.split(" ", 1)]]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, method):
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            following = query.get("starting_after") or query.get("scroll_param") or \
                int(query.get("page", 1)) > 1 or (body.get("pagination") or {}).get("starting_after")
            key = next((key for m, pattern, key in routes if m == method and pattern.match(url.path)), None)
            if key is None:
                status, payload = 404, {"type": "error.list", "request_id": None,
                                        "errors": [{"code": "not_found", "message": "Resource Not Found"}]}
            else:
                empty = {"type": "list", "data": [], "pages": {"type": "pages", "next": None}}
                status, payload = 200, empty if following else examples[key][0]
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer("GET")

        def do_POST(self):
            self.answer("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("version", ["2.14", "2.16"])
def test_the_specs_examples_sync_with_every_stream_selected(tmp_path, version):
    examples = json.loads((ROOT / "tests" / "fixtures" / f"openapi-{version}-examples.json").read_text())["examples"]
    server = serve_examples(examples)
    try:
        url = "http://127.0.0.1:%d" % server.server_address[1]
        catalog = select_streams(json.loads((ROOT / "catalog.json").read_text()), {s.name for s in STREAMS})
        run = run_tap(tmp_path, tap_config(url, api_version=version, custom_object_types=["Order"], max_retries=0),
                      catalog=catalog, check=False)
    finally:
        server.shutdown()
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.state["owed"] == [] and "Traceback" not in run.stderr
    assert run.records("conversations") and run.records("conversation_parts") and run.records("admins")
    # the content export's job: the examples server (paths the specs give examples for) has no route for it
    assert len(warnings_about(run, "skipping message_receipts, message_events, message_checkpoints")) == 1
    if version == "2.14":  # endpoints 2.14 lacks: each skipped with one warning, the rest synced
        for stream in ("conversation_handling_events", "macros", "office_hours_schedules"):
            assert len(warnings_about(run, f"skipping {stream}")) == 1 and not run.records(stream), stream
        # (/conversations/attributes is GET /conversations/{id} to a server without it: a body without its list)
        assert not run.records("conversation_attributes") and not run.records("deleted_conversations")
    else:
        assert run.records("conversation_handling_events")
        assert len(warnings_about(run, "skipping")) == 1  # the content export's alone
