"""The streams of Intercom's newer endpoints (2.14-2.16: calls, macros, internal articles, away status reasons,
office hours, conversation attributes, custom object instances, handling events, contact merges), through the
installed CLI against the emulator: complete after a full and an incremental run, each call in the version it
needs, refused endpoints skipped, merged contacts' 410 Gone, and a killed run resumed without a gap."""

import jsonschema
import pytest

from conftest import discover, killed_run, run_tap, select_streams, tap_config
from test_sync import by_key, comparable, expected_records, with_parent_cursor
from tap_intercom.catalog import load_schema
from tap_intercom.streams import STREAMS_BY_NAME

LISTS = ["calls", "internal_articles", "away_status_reasons", "office_hours_schedules", "conversation_attributes",
         "custom_object_instances"]
NEW = LISTS + ["macros", "contact_merges", "conversation_handling_events", "call_transcripts"]


def catalog_of(tmp_path, emulator, streams):
    return select_streams(discover(tmp_path, tap_config(emulator.url)), streams)


def check_complete(run_records, truth, streams):
    for stream in streams:
        expected = expected_records(stream, truth[stream])
        emitted = by_key(stream, run_records(stream))
        assert expected, f"the emulator has no {stream}"
        assert set(emitted) == set(expected), f"{stream}: missing {set(expected) - set(emitted)}, " \
                                              f"extra {set(emitted) - set(expected)}"
        for key, record in expected.items():
            assert comparable(stream, emitted[key]) == record, f"{stream} {key}"


def merge_some(emulator, count=3):
    users = [u["id"] for u in emulator.truth("users")["users"]]
    leads = [c["id"] for c in emulator.truth("contacts")["contacts"]]
    emulator.mutate(action="merge", ids=leads[:count], into=users[0])
    return leads[:count], users[0]


def test_new_streams_complete_after_a_full_and_an_incremental_run(tmp_path, emulator):
    merge_some(emulator, 2)
    config, catalog = tap_config(emulator.url), catalog_of(tmp_path, emulator, NEW + ["users"])
    first = run_tap(tmp_path, config, catalog=catalog)
    truth = with_parent_cursor(emulator.truth())
    check_complete(first.records, truth, NEW)
    for message in first.messages:  # every record valid against the schema its stream announced
        if message["type"] == "RECORD" and message["stream"] in NEW:
            jsonschema.validate(message["record"], load_schema(STREAMS_BY_NAME[message["stream"]].schema))
    # An away admin's away_status_reason_id is one of the reasons (a deleted reason stays listed).
    reasons = {r["id"]: r for r in first.records("away_status_reasons")}
    assert any(r["deleted"] for r in reasons.values())
    away = [str(a["away_status_reason_id"]) for a in emulator.truth("admins")["admins"]
            if a.get("away_status_reason_id") is not None]
    assert away and set(away) <= set(reasons)
    # A user's own row does not carry the merge history contact_merges reads from it.
    assert all("merge_history" not in user for user in first.records("users"))
    bookmark = first.state["bookmarks"]

    # Changes after the first run: macros edited and added, teammates pausing conversations, more merges.
    macros = sorted(m["id"] for m in emulator.truth("macros")["macros"])
    changed = emulator.mutate(action="update", stream="macros", ids=macros[:3])["ids"]
    changed += emulator.mutate(action="create", stream="macros", count=2)["ids"]
    conversations = sorted(c["id"] for c in emulator.truth("conversations")["conversations"])
    paused = emulator.mutate(action="create", stream="handling_events", ids=conversations[:4])["ids"]
    merged, into = merge_some(emulator, 2)
    pending = {t["call_id"] for t in first.records("call_transcripts") if t["transcript_status"] == "pending"}
    assert pending and pending <= set(emulator.mutate(action="complete_transcripts", stream="calls")["ids"])
    emulator.reset_stats()
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    truth = with_parent_cursor(emulator.truth())
    # The transcripts pending in the first run are asked again, and only the calls from the oldest of them on.
    again = {t["call_id"]: t for t in second.records("call_transcripts")}
    assert pending <= set(again) and all(again[c]["transcript_status"] == "completed" for c in pending)
    assert len(again) < len(truth["call_transcripts"])
    searched = {t["conversation_id"] for t in again.values()}
    assert emulator.stats()["by_endpoint"]["POST /calls/search"] == -(-len(searched) // 20)
    assert set(changed) <= {m["id"] for m in second.records("macros")}
    assert len(second.records("macros")) < len(truth["macros"])  # only what changed (and the lookback)
    assert set(paused) <= {e["conversation_id"] for e in second.records("conversation_handling_events")}
    assert {(m["id"], m["merged_into_id"]) for m in second.records("contact_merges")} >= {(i, into) for i in merged}
    # Together, the two runs hold every stream's truth.
    union = {stream: {**by_key(stream, first.records(stream)), **by_key(stream, second.records(stream))}
             for stream in NEW}
    check_complete(lambda stream: list(union[stream].values()), truth, NEW)
    for stream in ("macros", "contact_merges", "conversation_handling_events"):
        assert second.state["bookmarks"][stream]["updated_at"] >= bookmark[stream]["updated_at"]


def test_each_call_carries_the_version_its_endpoint_needs(tmp_path, emulator):
    """api_version 2.11: the 2.14 endpoints are asked in 2.14, the 2.16 ones in 2.16, the rest in 2.11."""
    config = tap_config(emulator.url, api_version="2.11")
    catalog = catalog_of(tmp_path, emulator, NEW + ["conversations", "admins"])
    emulator.reset_stats()
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "skipping" not in run.stderr
    assert {s for s in NEW if run.records(s)} == set(NEW) - {"contact_merges"}  # nothing merged yet
    stats = emulator.stats()
    by_endpoint, versions = stats["by_endpoint"], stats["versions"]
    in_2_14 = sum(by_endpoint[e] for e in ("GET /calls", "GET /internal_articles", "GET /away_status_reasons",
                                           "POST /calls/search"))
    in_2_16 = sum(count for endpoint, count in by_endpoint.items()
                  if endpoint in ("GET /macros", "GET /office_hours_schedules", "GET /conversations/attributes",
                                  "GET /custom_object_instances/{type}", "GET /conversations/{id}/handling_events",
                                  "POST /contacts/search"))
    assert versions == {"2.11": stats["requests"] - in_2_14 - in_2_16, "2.14": in_2_14, "2.16": in_2_16}
    assert by_endpoint["GET /calls"] == 2 * 2  # 45 calls, at most 25 a page, for calls and call_transcripts


def test_refused_endpoints_are_skipped_with_one_warning(tmp_path, emulator):
    # A token without the scopes of calls, macros and custom objects; office hours answering 404 (a workspace
    # or an API version without them); handling events refused on every conversation.
    scopes = ["read_admins", "read_users_companies", "read_conversations", "read_articles", "read_tags"]
    emulator.configure(tokens={"scoped-token": scopes})
    emulator.faults(path="/office_hours_schedules", kind="404", count=5)
    emulator.faults(path="/conversations/", kind="403", count=10000, method="GET")
    config = tap_config(emulator.url, access_token="scoped-token")
    run = run_tap(tmp_path, config, catalog=catalog_of(tmp_path, emulator, NEW + ["conversations"]))
    for stream in ("calls", "call_transcripts", "macros", "custom_object_instances", "office_hours_schedules",
                   "conversation_handling_events"):
        assert run.stderr.count(f"skipping {stream}") == 1, stream
        assert not run.records(stream)
    assert len(run.records("conversations")) == len(emulator.truth("conversations")["conversations"])
    assert run.records("internal_articles") and run.records("away_status_reasons")
    assert run.state["owed"] == []  # a refused child fetch owes nothing


def test_a_merged_contact_answers_410_and_is_owed_nothing(tmp_path, emulator):
    """An owed fetch of a contact merged since (2.16: 410 Gone with a Link) settles it; 2.14's 404 keeps it owed."""
    leads = [c["id"] for c in emulator.truth("contacts")["contacts"]]
    users = [u["id"] for u in emulator.truth("users")["users"]]
    state = {"bookmarks": {"contacts": {"updated_at": "2099-01-01T00:00:00.000000Z"}},
             "owed": [{"stream": "contacts", "id": leads[0], "runs": 1}], "tap": "tap-intercom"}
    emulator.mutate(action="merge", ids=leads[:1], into=users[0])
    catalog = catalog_of(tmp_path, emulator, ["contacts"])
    run = run_tap(tmp_path, tap_config(emulator.url, api_version="2.16"), catalog=catalog, state=state)
    assert f"contact {leads[0]} was merged into another contact (410 Gone)" in run.stderr
    assert run.state["owed"] == []
    older = run_tap(tmp_path, tap_config(emulator.url), catalog=catalog, state=state, check=False)
    assert older.returncode != 0 and older.state["owed"] == [{"stream": "contacts", "id": leads[0], "runs": 2}]


def test_a_list_fetch_of_a_contact_merged_meanwhile_keeps_its_first_items():
    from tap_intercom.errors import ApiError
    from tap_intercom.streams import ContactList, contact_rows

    class Gone:
        def get(self, *args, **kwargs):
            raise ApiError("GET /contacts/1/tags was refused: 410 contact_merged", 410, "contact_merged")

    contact = {"id": "1", "tags": {"type": "list", "data": [{"type": "tag", "id": "7", "url": "/tags/7"}],
                                   "has_more": True, "url": "/contacts/1/tags"}}
    assert ContactList.of(contact, "tags")(Gone()) is None
    assert contact_rows(contact, {"tags": None})[0]["tags"]["data"] == [{"type": "tag", "id": "7", "url": "/tags/7"}]


def test_handling_events_are_not_selected_by_default(tmp_path, emulator):
    catalog = discover(tmp_path, tap_config(emulator.url))
    top = {e["tap_stream_id"]: e["metadata"][0]["metadata"] for e in catalog["streams"]}
    assert top["conversation_handling_events"]["selected-by-default"] is False
    assert all(meta["selected-by-default"] for name, meta in top.items()
               if name != "conversation_handling_events" and not name.endswith("_history")
               and not name.startswith("message_"))  # the content export's streams are opt-in too
    emulator.reset_stats()  # discovery samples one conversation's events
    run = run_tap(tmp_path, tap_config(emulator.url))  # no catalog: every stream selected by default
    assert "conversation_handling_events" not in run.streams()
    assert "GET /conversations/{id}/handling_events" not in emulator.stats()["by_endpoint"]
    assert {"calls", "macros", "internal_articles", "custom_object_instances"} <= run.streams()


def test_custom_object_types_setting(tmp_path, emulator):
    catalog = catalog_of(tmp_path, emulator, ["custom_object_instances"])
    none = run_tap(tmp_path, tap_config(emulator.url, custom_object_types=[]), catalog=catalog)
    assert not none.records("custom_object_instances")
    assert none.stderr.count("no custom_object_types configured") == 1
    one = run_tap(tmp_path, tap_config(emulator.url, custom_object_types=["Product"]), catalog=catalog)
    assert {r["type"] for r in one.records("custom_object_instances")} == {"Product"}
    for bad in ("Order", [1], ["a/b"]):  # a plain word is read as a list of one from an environment variable
        run = run_tap(tmp_path, tap_config(emulator.url, custom_object_types=bad), catalog=catalog, check=False)
        if bad == "Order":
            assert run.returncode == 0
            continue
        assert run.returncode != 0 and "Traceback" not in run.stderr
        assert "custom_object_types must be a list" in run.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("kill_after", [40, 75, 110])
def test_killed_runs_resume_without_a_gap(tmp_path, make_emulator, kill_after):
    """Killed mid-way, then resumed from the last STATE it wrote: what that STATE covers and the resumed run
    together hold the emulator's truth for handling events and macros (newest first: the bookmark moves only once
    the whole window is written)."""
    emulator = make_emulator(seed=5, contacts=40, companies=4, conversations=60)
    config = tap_config(emulator.url, page_size=7, max_workers=4)
    streams = ["conversations", "conversation_handling_events", "macros"]
    catalog = catalog_of(tmp_path, emulator, streams)
    # killed after a STATE (so the next run resumes from one), at a point that varies with `kill_after`
    completed, kept, state = killed_run(tmp_path, config, None, kill_after, catalog=catalog, min_states=1)
    assert not completed and state is not None
    written = {s: [m["record"] for m in kept if m["type"] == "RECORD" and m["stream"] == s] for s in streams}
    truth = with_parent_cursor(emulator.truth())
    if "updated_at" in state["bookmarks"].get("macros", {}):  # only once every macro is written
        assert {m["id"] for m in written["macros"]} == {m["id"] for m in truth["macros"]}
    resumed = run_tap(tmp_path, config, catalog=catalog, state=state)
    for stream in ("conversation_handling_events", "macros"):
        union = {**by_key(stream, written[stream]), **by_key(stream, resumed.records(stream))}
        assert set(union) == set(expected_records(stream, truth[stream])), stream


def test_a_failed_handling_events_fetch_is_owed_to_the_next_run(tmp_path, emulator):
    conversations = sorted(c["id"] for c in emulator.truth("conversations")["conversations"])
    events = emulator.truth("conversation_handling_events")["conversation_handling_events"]
    victim = next(e["conversation_id"] for e in events)
    emulator.faults(path=f"/conversations/{victim}/handling_events", kind="503", count=2)  # both attempts
    config = tap_config(emulator.url, max_retries=1)
    catalog = catalog_of(tmp_path, emulator, ["conversations", "conversation_handling_events"])
    first = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert first.returncode != 0 and "owed to the next run" in first.stderr
    assert first.state["owed"] == [{"stream": "conversation_handling_events", "id": victim, "runs": 1}]
    assert victim not in {e["conversation_id"] for e in first.records("conversation_handling_events")}
    assert len(first.records("conversations")) == len(conversations)  # the conversation itself is written
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    assert second.state["owed"] == []
    assert sum(e["conversation_id"] == victim for e in second.records("conversation_handling_events")) == \
        sum(e["conversation_id"] == victim for e in events)
