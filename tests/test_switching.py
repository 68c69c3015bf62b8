"""Switching from singer-io/tap-intercom 2.2.5: its catalog and its state, through the installed CLI."""
import pytest

from conftest import discover, run_tap, select_streams, tap_config
from tap_intercom.catalog import load_schema
from tap_intercom.config import parse_datetime
from tap_intercom.records.timestamps import epoch_to_rfc3339

# The peer's streams as its --discover describes them (shapes only: key, replication, schema fields).
PEER_STREAMS = {
    "admins": ("admin", ["id"], None), "companies": ("company", ["id"], "updated_at"),
    "company_attributes": ("data_attribute", ["_sdc_record_hash"], None),
    "company_segments": ("segment", ["id"], "updated_at"), "conversations": ("conversation", ["id"], "updated_at"),
    "conversation_parts": ("conversation_part", ["id"], "updated_at"),
    "contact_attributes": ("data_attribute", ["_sdc_record_hash"], None), "contacts": ("contact", ["id"], "updated_at"),
    "segments": ("segment", ["id"], "updated_at"), "tags": ("tag", ["id"], None), "teams": ("team", ["id"], None),
}
PEER_LACKS = {"contact": {"enabled_push_messaging", "formatted_phone", "merge_history", "opted_in_subscription_types",
                          "opted_out_subscription_types", "referrer", "utm_campaign", "utm_content", "utm_medium",
                          "utm_source", "utm_term"}}
PEER_ADDS = {"conversation": {"conversation_message": {"type": ["null", "object"]}},
             "data_attribute": {"_sdc_record_hash": {"type": ["null", "string"]}}}
PEER = "singer-io/tap-intercom"


def peer_catalog(selected, deselect=()):
    """A catalog shaped as the peer writes it (singer's standard metadata, no selected-by-default), with
    `selected` streams selected as Meltano does and `deselect` fields of its contacts deselected."""
    streams = []
    for name, (schema_name, key, replication_key) in PEER_STREAMS.items():
        schema = load_schema(schema_name)
        properties = {k: v for k, v in schema["properties"].items() if k not in PEER_LACKS.get(schema_name, ())}
        properties.update(PEER_ADDS.get(schema_name, {}))
        top = {"table-key-properties": key, "forced-replication-method": "INCREMENTAL" if replication_key else
               "FULL_TABLE", "valid-replication-keys": [replication_key] if replication_key else [],
               "inclusion": "available", "selected": name in selected}
        metadata = [{"breadcrumb": [], "metadata": top}] + [
            {"breadcrumb": ["properties", field], "metadata": {
                "inclusion": "automatic" if field in key or field == replication_key else "available",
                **({"selected": False} if name == "contacts" and field in deselect else {})}}
            for field in properties]
        streams.append({"stream": name, "tap_stream_id": name, "key_properties": key,
                        "replication_key": replication_key, "schema": {"type": ["null", "object"],
                                                                        "properties": properties},
                        "metadata": metadata})
    return {"streams": streams}


def ids(records):
    return {str(r["id"]) for r in records}


def test_peer_catalog_selects_users_and_leads_with_its_field_selection(tmp_path, emulator):
    catalog = peer_catalog({"contacts", "companies"}, deselect={"phone", "email"})
    run = run_tap(tmp_path, tap_config(emulator.url), catalog=catalog)
    truth = emulator.truth()
    assert run.streams() == {"users", "contacts", "companies"}
    assert ids(run.records("users")) == ids(truth["users"]) and ids(run.records("contacts")) == ids(truth["contacts"])
    assert all("phone" not in r and "email" not in r and "name" in r
               for r in run.records("users") + run.records("contacts"))
    mapped = [line for line in run.stderr.splitlines() if "catalog mapped" in line]
    assert len(mapped) == 1 and "users + contacts" in mapped[0] and "4 deselected fields" in mapped[0]


def test_own_catalog_is_never_taken_for_the_peers(tmp_path, emulator):
    ours = discover(tmp_path, tap_config(emulator.url))
    only_contacts = select_streams(ours, {"contacts"})
    trimmed = {"streams": [e for e in only_contacts["streams"] if e["tap_stream_id"] == "contacts"]}
    for catalog in (only_contacts, trimmed):
        run = run_tap(tmp_path, tap_config(emulator.url), catalog=catalog)
        assert run.streams() == {"contacts"} and "mapped" not in run.stderr
        assert ids(run.records("contacts")) == ids(emulator.truth()["contacts"])  # leads only


def newest(records, count):
    """The updated_at that leaves `count` records at or after it."""
    return sorted(r["updated_at"] for r in records)[-count]


def test_peer_state_continues_without_gap_or_full_resync(tmp_path, emulator):
    truth = emulator.truth()
    contacts = truth["users"] + truth["contacts"]
    mark = {"contacts": newest(contacts, 40), "companies": newest(truth["companies"], 10),
            "conversations": newest(truth["conversations"], 8)}
    state = {"currently_syncing": None, "bookmarks": {
        "contacts": {"updated_at": epoch_to_rfc3339(mark["contacts"])},
        "companies": {"updated_at": epoch_to_rfc3339(mark["companies"])},
        # the parts' bookmark of a peer: the updated_at of the last conversation by id, far behind
        "conversation_parts": {"updated_at": "2001-01-01T00:00:00.000000Z"},
        "conversations": {"updated_at": epoch_to_rfc3339(mark["conversations"])},
        "segments": {"updated_at": "2026-01-01T00:00:00.000000Z"}}}
    catalog = peer_catalog({"contacts", "companies", "conversations", "conversation_parts", "segments"})
    run = run_tap(tmp_path, tap_config(emulator.url, lookback_window=0), catalog=catalog, state=state)
    got = ids(run.records("users")) | ids(run.records("contacts"))
    assert ids(c for c in contacts if c["updated_at"] >= mark["contacts"]) <= got  # no gap
    assert len(got) < len(contacts) / 2  # not a full re-sync
    changed = [c for c in truth["conversations"] if c["updated_at"] >= mark["conversations"]]
    assert ids(changed) <= ids(run.records("conversations")) and len(run.records("conversations")) < 20
    assert {p["conversation_id"] for p in run.records("conversation_parts")} == ids(run.records("conversations"))
    assert ids(c for c in truth["companies"] if c["updated_at"] >= mark["companies"]) <= ids(run.records("companies"))
    assert len(run.records("segments")) == len(truth["segments"])  # full table here
    assert sum("continuing from singer-io/tap-intercom's bookmarks" in line for line in run.stderr.splitlines()) == 1
    final = run.state
    assert final["tap"] == "tap-intercom" and {"users", "contacts"} <= set(final["bookmarks"])
    assert "segments" not in final["bookmarks"]
    again = run_tap(tmp_path, tap_config(emulator.url), catalog=catalog, state=final)  # now our own state
    assert "continuing from" not in again.stderr and len(again.records("users")) < len(got)


def test_peer_interrupted_conversations_resume_from_its_last_complete_bookmark(tmp_path, emulator):
    truth = emulator.truth()
    done = newest(truth["conversations"], 10)
    state = {"currently_syncing": "conversations", "bookmarks": {
        "conversations": {"updated_at": epoch_to_rfc3339(done), "last_processed": "200000030",
                          "last_sync_started_at": "2030-01-01T00:00:00.000000Z"},
        "conversation_parts": {"updated_at": "2030-01-01T00:00:00.000000Z"}}}
    ours = select_streams(discover(tmp_path, tap_config(emulator.url)), {"conversations", "conversation_parts"})
    run = run_tap(tmp_path, tap_config(emulator.url, lookback_window=0), catalog=ours, state=state)
    changed = ids(c for c in truth["conversations"] if c["updated_at"] >= done)
    assert changed == ids(run.records("conversations"))
    assert changed == {p["conversation_id"] for p in run.records("conversation_parts")}
    assert "resuming conversations first" in run.stderr


@pytest.mark.parametrize("state, phrase", [
    ({"bookmarks": {"contacts": {"updated_at": "2026-01-01T00:00:00Z"}}}, '"tap": "singer-io/tap-intercom"'),
    ({"bookmarks": {"users": {"updated_at": "2026-01-01T00:00:00Z"},
                    "segments": {"updated_at": "2026-01-01T00:00:00Z"}}}, "mixes"),
    ({"bookmarks": {"tags": {"updated_at": "2026-01-01T00:00:00Z"}}, "tap": PEER}, "never writes"),
    ({"bookmarks": {"contacts": {"updated_at": "2026-01-01T00:00:00Z", "page": 3}}, "tap": PEER}, "not one"),
    ({"bookmarks": {}, "tap": "tap-github"}, "expected"),
])
def test_ambiguous_state_refused_with_what_to_do(tmp_path, emulator, state, phrase):
    run = run_tap(tmp_path, tap_config(emulator.url), state=state, check=False)
    assert run.returncode == 1 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0], run.stderr
    assert emulator.stats()["requests"] == 0


def test_marked_peer_state_seeds_users_and_leads(tmp_path, emulator):
    truth = emulator.truth()
    contacts = truth["users"] + truth["contacts"]
    mark = newest(contacts, 30)
    state = {"bookmarks": {"contacts": {"updated_at": epoch_to_rfc3339(mark)}}, "tap": PEER}
    run = run_tap(tmp_path, tap_config(emulator.url, lookback_window=0), state=state)
    got = ids(run.records("users")) | ids(run.records("contacts"))
    assert ids(c for c in contacts if c["updated_at"] >= mark) <= got and len(got) < len(contacts) / 2
    assert parse_datetime(run.state["bookmarks"]["users"]["updated_at"], "") >= mark


def test_peer_clock_bookmark_never_trusted_past_the_records_it_saw(tmp_path, emulator):
    """The peer's final conversations bookmark is its own clock at sync start (microseconds), which can run
    ahead of Intercom's: it is capped at the newest record time of its state."""
    truth = emulator.truth()
    contacts = truth["users"] + truth["contacts"]
    mark = newest(contacts, 20)
    changed = emulator.mutate(action="update", stream="conversations", count=2)["ids"]
    state = {"currently_syncing": None, "bookmarks": {
        "contacts": {"updated_at": epoch_to_rfc3339(mark)},
        "conversations": {"updated_at": "2099-01-01T00:00:00.123456Z"}}}
    catalog = peer_catalog({"contacts", "conversations"})
    run = run_tap(tmp_path, tap_config(emulator.url, lookback_window=0), catalog=catalog, state=state)
    assert set(changed) <= ids(run.records("conversations"))
    assert f"reading /conversations/search from {epoch_to_rfc3339(mark)}" in run.stderr
