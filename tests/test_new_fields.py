"""Nothing Intercom sends is lost: new nested keys, new top-level fields (a widened SCHEMA, re-sent), values
of unexpected types; the CLI against the emulator, whose control API starts sending them between two runs."""
import json
import subprocess

import jsonschema
import pytest

from conftest import ROOT, TAP, discover, run_tap, select_streams, tap_config, write_json
from kept import lost
from tap_intercom.catalog import Selection
from tap_intercom.sampling import SAMPLED
from tap_intercom.streams import STREAMS, STREAMS_BY_NAME
from tap_intercom.records.output import RecordLines
from tap_intercom.records.transform import RecordTransform
from tap_intercom.records.widening import StreamShape
from test_sync import assert_nothing_lost, by_key, with_parent_cursor

TEAMMATES = {"type": "admin.list", "admins": [{"type": "admin", "id": "10553731"}]}  # as every recording has it
NEW = {"contact": {"consent_i15": True, "loyalty_i15": False},
       "conversation": {"ai_agent_participated_i15": False, "linked_tickets_i15": [{"id": 7, "type": "ticket"}]},
       "conversation_part": {"reactions_i15": ["+1"]}, "social_profile": {"verified_i15": True},
       "company": {"health_score_i15": 0.75}}
NEW_FIELDS = {"users": {"consent_i15", "loyalty_i15"}, "contacts": {"consent_i15", "loyalty_i15"},
              "conversations": {"ai_agent_participated_i15", "linked_tickets_i15"},
              "conversation_parts": {"reactions_i15"},
              "social_profiles": {"verified_i15"}, "companies": {"health_score_i15"}}


@pytest.fixture
def small(make_emulator):
    return make_emulator(seed=3, contacts=60, companies=12, conversations=12)


def _saved_catalog(tmp_path, emulator, streams):
    # untyped custom attributes: assert_nothing_lost compares declared fields with the bundled schemas
    return select_streams(discover(tmp_path, tap_config(emulator.url, typed_custom_attributes=False)), streams)


def test_undeclared_nested_keys_reach_stdout(tmp_path, small):
    small.configure(extra_fields={
        "conversation": {"teammates": TEAMMATES, "source.delivered_as_v2": "customer_initiated",
                         "statistics.count_bot_replies": 2},
        "contact": {"location.continent_code": "EU", "social_profiles.data.*.verified": True},
        "conversation_part": {"author.brand_new": {"deep": [1, {"x": "y"}]}}})
    streams = ["users", "contacts", "conversations", "conversation_parts", "social_profiles"]
    run = run_tap(tmp_path, tap_config(small.url), catalog=_saved_catalog(tmp_path, small, streams))
    truth = with_parent_cursor(small.truth())
    for stream in streams:
        assert_nothing_lost(stream, truth[stream], by_key(stream, run.records(stream)))
    conversations = run.records("conversations")
    assert all(c["teammates"] == TEAMMATES and c["statistics"]["count_bot_replies"] == 2 for c in conversations)
    assert all(p["author"]["brand_new"] == {"deep": [1, {"x": "y"}]} for p in run.records("conversation_parts"))
    assert all(u["location"]["continent_code"] == "EU" for u in run.records("users"))


def _schema_positions(run):
    """[(index, stream, properties)] of the SCHEMA messages, and the index of each RECORD."""
    return [(i, m["stream"], set(m["schema"]["properties"])) for i, m in enumerate(run.messages)
            if m["type"] == "SCHEMA"]


def test_a_new_top_level_field_between_two_runs_of_a_saved_catalog(tmp_path, small):
    streams = set(NEW_FIELDS)
    catalog = _saved_catalog(tmp_path, small, streams)
    config = tap_config(small.url)
    first = run_tap(tmp_path, config, catalog=catalog)
    assert not any(f"the field {field!r}" in first.stderr for fields in NEW_FIELDS.values() for field in fields)
    small.configure(extra_fields=NEW)
    small.mutate(action="update", stream="users", count=5)
    small.mutate(action="update", stream="contacts", count=3)
    small.mutate(action="update", stream="conversations", count=3)
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)

    for stream, fields in NEW_FIELDS.items():
        for field in fields:  # one warning per new field per run, naming stream and field, saying what to do
            warnings = [line for line in second.stderr.splitlines() if f"{stream}: records now carry the field "
                        f"{field!r}" in line]
            assert len(warnings) == 1, (stream, field, second.stderr[-2000:])
            assert "run --discover again or add it to the stream's schema properties" in warnings[0]
    # the widened SCHEMA comes before the first record carrying the field; every record fits its latest SCHEMA
    latest, widened_at = {}, {}
    for index, message in enumerate(second.messages):
        if message["type"] == "SCHEMA":
            if message["stream"] in latest and NEW_FIELDS.get(message["stream"], set()) & set(
                    message["schema"]["properties"]):
                widened_at.setdefault(message["stream"], index)
            latest[message["stream"]] = jsonschema.Draft4Validator(message["schema"])
        elif message["type"] == "RECORD":
            stream, record = message["stream"], message["record"]
            latest[stream].validate(record)
            if NEW_FIELDS.get(stream, set()) & set(record):
                assert stream in widened_at and widened_at[stream] < index, stream
    assert set(widened_at) == set(NEW_FIELDS)
    users = second.records("users")
    assert users and all(u["consent_i15"] is True and u["loyalty_i15"] is False for u in users)
    assert all(c["linked_tickets_i15"] == [{"id": 7, "type": "ticket"}] for c in second.records("conversations"))
    assert all(p["reactions_i15"] == ["+1"] for p in second.records("conversation_parts"))
    assert all(p["verified_i15"] is True for p in second.records("social_profiles"))
    assert all(c["health_score_i15"] == 0.75 for c in second.records("companies"))
    schema = [m for m in second.messages if m["type"] == "SCHEMA" and m["stream"] == "users"][-1]["schema"]
    assert schema["properties"]["consent_i15"] == {"type": ["null", "boolean"]}
    truth = with_parent_cursor(small.truth())
    for stream in ("users", "companies"):
        emitted = by_key(stream, second.records(stream))
        assert_nothing_lost(stream, [r for r in truth[stream] if (r["id"],) in emitted], emitted)


def test_a_field_deselected_in_the_catalog_stays_out(tmp_path, small):
    catalog = _saved_catalog(tmp_path, small, {"users", "companies"})
    for entry in catalog["streams"]:  # deselected by name, though the catalog's schema does not declare it
        if entry["tap_stream_id"] == "users":
            entry["metadata"].append({"breadcrumb": ["properties", "consent_i15"], "metadata": {"selected": False}})
    small.configure(extra_fields={"contact": {"consent_i15": True, "loyalty_i15": False}})
    run = run_tap(tmp_path, tap_config(small.url), catalog=catalog)
    users = run.records("users")
    assert users and all("consent_i15" not in u and u["loyalty_i15"] is False for u in users)
    assert "'consent_i15'" not in run.stderr and "'loyalty_i15'" in run.stderr


def test_unexpected_types_are_converted_without_loss(tmp_path, small):
    small.configure(extra_fields={
        "contact": {"external_id": 12345, "name": 3.5},                    # numbers where strings are declared
        "conversation": {"created_at": "2024-02-29T10:00:00Z",             # ISO 8601 text
                         "waiting_since": "1709200800",                     # epoch seconds as text
                         "snoozed_until": 1709200800123}})                  # epoch milliseconds
    run = run_tap(tmp_path, tap_config(small.url),
                  catalog=_saved_catalog(tmp_path, small, {"users", "conversations"}))
    assert all(u["external_id"] == "12345" and u["name"] == "3.5" for u in run.records("users"))
    for conversation in run.records("conversations"):
        assert conversation["created_at"] == "2024-02-29T10:00:00.000000Z"
        assert conversation["waiting_since"] == "2024-02-29T10:00:00.000000Z"
        assert conversation["snoozed_until"] == "2024-02-29T10:00:00.123000Z"
    assert "does not fit" not in run.stderr
    truth = small.truth()
    assert_nothing_lost("users", truth["users"], by_key("users", run.records("users")))


def _shape(schema, metadata=None):
    stream = STREAMS_BY_NAME["admins"]
    selection = Selection(stream, schema, frozenset(schema["properties"]), metadata or {})
    return StreamShape(selection, RecordTransform("admins", schema, selection.fields, selection.metadata))


def test_a_later_value_of_another_type_widens_never_narrows(caplog):
    shape = _shape({"type": "object", "properties": {"id": {"type": "string"}}})
    rows = [{"id": "1", "score": 1}, {"id": "2", "score": 2.5}, {"id": "3", "score": 4}, {"id": "4", "score": "n/a"},
            {"id": "5", "score": 7}, {"id": "6", "score": None, "late": None}, {"id": "7", "late": {"a": 1}}]
    def schemas(lines):
        return [line for line in lines if json.loads(line)["type"] == "SCHEMA"]

    declared, lines = [], []
    for row in rows:  # as the engine writes them, one at a time
        before, count = dict(shape.added), len(schemas(lines))
        assert not shape.emit((row,), lines, RecordLines("admins"), b"")
        if shape.added != before:  # widened: one SCHEMA line, just before the row
            declared.append(dict(shape.added))
            assert schemas(lines)[-1] is lines[-2] and len(schemas(lines)) == count + 1
    written = [json.loads(line)["record"] for line in lines if json.loads(line)["type"] == "RECORD"]
    assert declared == [{"score": "integer"}, {"score": "number"}, {"score": "string"},
                        {"score": "string", "late": "object"}]
    assert [w.get("score") for w in written] == [1, 2.5, 4.0, "n/a", "7", None, None]
    assert written[-1]["late"] == {"a": 1}
    assert all(lost(row, out) == [] for row, out in zip(rows, written))
    assert len([r for r in caplog.records if "records now carry the field 'score'" in r.getMessage()]) == 1


def test_discovery_declares_what_the_first_pages_carry(tmp_path, small):
    small.configure(extra_fields={"contact": {"consent_i15": True}, "conversation_part": {"reactions_i15": ["+1"]},
                                  "company": {"health_score_i15": 0.75}, "article": {"content_rev_i15": 5},
                                  "conversation": {"teammates": TEAMMATES}})
    small.faults(path="/tags", kind="403", count=5)  # a sample refused: a warning, the bundled schema stays
    small.reset_stats()
    proc = subprocess.run([TAP, "--config", write_json(tmp_path, "c.json", tap_config(
        small.url, typed_custom_attributes=False)), "--discover"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    catalog = {entry["tap_stream_id"]: entry for entry in json.loads(proc.stdout)["streams"]}
    bundled = {entry["tap_stream_id"]: entry for entry in json.loads((ROOT / "catalog.json").read_text())["streams"]}
    added = {name: {field: entry["schema"]["properties"][field]
                    for field in set(entry["schema"]["properties"]) - set(bundled[name]["schema"]["properties"])}
             for name, entry in catalog.items()}
    assert added["users"]["consent_i15"] == added["contacts"]["consent_i15"] == {"type": ["null", "boolean"]}
    assert added["conversation_parts"]["reactions_i15"] == {"type": ["null", "array"], "items": {}}
    assert added["companies"]["health_score_i15"] == {"type": ["null", "number"]}
    assert added["articles"]["content_rev_i15"] == {"type": ["null", "integer"]}
    assert "teammates" not in added["conversations"]  # declared by the bundled schema: its nested keys are kept
    assert catalog["tags"] == bundled["tags"] and "discovery: tags not sampled" in proc.stderr
    for name, entry in catalog.items():  # the new fields are selectable like any other
        crumbs = {tuple(item["breadcrumb"]) for item in entry["metadata"]}
        assert all(("properties", field) in crumbs for field in added[name])
    stats = small.stats()["by_endpoint"]
    assert "GET /companies/scroll" not in stats  # a scroll would block the sync's own for a minute
    # one request per sampled source, plus one per-record fetch (a conversation's or a ticket's parts) per stream
    # made from them; contacts' lists are not completed (nothing is selected)
    sources = {s.source.name for s in STREAMS if s.source.style in SAMPLED}
    assert len(sources) <= sum(stats.values()) <= len(sources) + len([s for s in STREAMS if s.fetches]), stats
    assert stats["GET /conversations/{id}"] == stats["GET /tickets/{id}"] == 1


def test_a_sampled_catalog_syncs_its_new_fields_without_widening(tmp_path, small):
    small.configure(extra_fields={"contact": {"consent_i15": True}})
    config = tap_config(small.url, typed_custom_attributes=False)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"users"}))
    assert "records now carry" not in run.stderr
    assert len([m for m in run.messages if m["type"] == "SCHEMA"]) == 1
    assert all(u["consent_i15"] is True for u in run.records("users"))


def test_the_rows_hooks_reshape_without_loss():
    from tap_intercom.streams import admin_rows, contact_rows
    contact = {"id": "c1", "tags": {"type": "list", "has_more": True, "data": [
        {"type": "tag", "id": "1", "url": "/tags/1", "applied_at": 1700000000}]}}
    fetched = {"tags": [{"type": "tag", "id": "1", "name": "a"}, {"type": "tag", "id": 2, "name": "b"}]}
    row, = contact_rows(contact, fetched)
    assert row["tags"]["data"] == [{"type": "tag", "id": "1", "url": "/tags/1", "applied_at": 1700000000},
                                   {"type": "tag", "id": "2", "url": "/tags/2"}]
    assert admin_rows({"id": "1", "avatar": {"image_url": "u"}}, None)[0]["avatar"] == "u"
    rich = {"image_url": "u", "image_url_2x": "v"}
    admin, = admin_rows({"id": "1", "avatar": dict(rich)}, None)
    out = _shape({"type": "object", "properties": {"id": {"type": "string"}, "avatar": {"type": ["null", "string"]}}}) \
        .transform(admin)
    assert json.loads(out["avatar"]) == rich
