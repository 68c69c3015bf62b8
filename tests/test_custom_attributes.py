"""Typed custom attributes: discovery reads the data attributes, syncs convert to them, misfits stay small."""
import json
import socket

import jsonschema

from conftest import ROOT, discover, run_tap, select_streams, tap_config
from tap_intercom.records.transform import RecordTransform

MODEL_STREAMS = {"contact": ("users", "contacts"), "company": ("companies",), "conversation": ("conversations",)}
JSON_TYPES = {"string": "string", "integer": "integer", "float": "number", "boolean": "boolean", "date": "string"}


def custom_schema(catalog, stream):
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)
    return entry["schema"]["properties"]["custom_attributes"]


def test_discovery_types_every_custom_attribute_archived_included(tmp_path, emulator):
    catalog = discover(tmp_path, tap_config(emulator.url))
    attributes = [a for a in emulator.emulator.ws.attributes(None, include_archived=True) if a["custom"]]
    assert {a["model"] for a in attributes} == set(MODEL_STREAMS) and any(a["archived"] for a in attributes)
    for model, streams in MODEL_STREAMS.items():
        declared = {a["name"]: a["data_type"] for a in attributes if a["model"] == model}
        for stream in streams:
            schema = custom_schema(catalog, stream)
            assert schema["additionalProperties"] is True
            assert set(schema["properties"]) == set(declared), stream  # odd names exactly as they are
            for name, data_type in declared.items():
                assert schema["properties"][name]["type"] == ["null", JSON_TYPES[data_type]], (stream, name)
                assert (schema["properties"][name].get("format") == "date-time") == (data_type == "date")


def test_synced_values_fit_their_types_dates_as_rfc3339_new_attributes_kept(tmp_path, emulator):
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"users", "contacts", "companies", "conversations"})
    user = emulator.truth("users")["users"][0]["id"]
    emulator.mutate(action="update", stream="users", ids=[user],
                    custom_attributes={"created after discovery": [1, 2], "seats-used": "many", "2fa_enabled": "true",
                                       "trial_ends_at": 1767225600})
    run = run_tap(tmp_path, config, catalog=catalog)
    assert run.returncode == 0
    schemas = {m["stream"]: jsonschema.Draft4Validator(m["schema"], format_checker=jsonschema.FormatChecker())
               for m in run.messages if m["type"] == "SCHEMA"}
    dates = 0
    for stream in ("users", "contacts", "companies", "conversations"):
        properties = custom_schema(catalog, stream)["properties"]
        for record in run.records(stream):
            schemas[stream].validate(record)
            for name, value in (record["custom_attributes"] or {}).items():
                if properties.get(name, {}).get("format") == "date-time" and value is not None:
                    assert value.endswith("Z") and "T" in value, (stream, name, value)
                    dates += 1
    assert dates > 100
    changed = next(r for r in run.records("users") if r["id"] == user)["custom_attributes"]
    assert changed["created after discovery"] == [1, 2]  # undeclared: passed as it is
    assert changed["seats-used"] is None and changed["2fa_enabled"] is True  # misfit nulled; "true" fits
    assert changed["trial_ends_at"] == "2026-01-01T00:00:00.000000Z" and changed["plan tier"] is not None
    warnings = [line for line in run.stderr.splitlines() if "does not fit" in line]
    assert len(warnings) == 1 and "users.custom_attributes.seats-used" in warnings[0]


def test_free_form_when_turned_off_or_unreachable(tmp_path, emulator):
    free_form = json.loads((ROOT / "catalog.json").read_text())
    turned_off = discover(tmp_path, tap_config(emulator.url, typed_custom_attributes=False))
    assert custom_schema(turned_off, "users") == custom_schema(free_form, "users")
    assert "GET /data_attributes" not in emulator.stats()["by_endpoint"] or \
        emulator.stats()["by_endpoint"]["GET /data_attributes"] == 2  # only the samples of the attribute streams
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert discover(tmp_path, tap_config(f"http://127.0.0.1:{port}")) == free_form
    emulator.faults(path="/data_attributes", kind="403", count=3)
    catalog = discover(tmp_path, tap_config(emulator.url))
    assert custom_schema(catalog, "users") == custom_schema(free_form, "users")


def test_misfit_inside_custom_attributes_costs_that_value_only():
    schema = {"type": "object", "properties": {"id": {"type": "string"}, "count": {"type": ["null", "integer"]}, "custom_attributes": {
        "type": ["null", "object"], "additionalProperties": True,
        "properties": {"n": {"type": ["null", "integer"]}, "d": {"type": ["null", "string"], "format": "date-time"}}}}}
    transform = RecordTransform("users", schema, {"id", "count", "custom_attributes"}, {})
    assert transform({"id": 1, "custom_attributes": {"n": {"x": 1}, "d": 0, "z": "kept"}}) == \
        {"id": "1", "custom_attributes": {"n": None, "d": "1970-01-01T00:00:00.000000Z", "z": "kept"}}
    assert transform({"id": "2", "custom_attributes": {"n": 3.0, "d": "2024-05-01T10:00:00+02:00"}}) == \
        {"id": "2", "custom_attributes": {"n": 3, "d": "2024-05-01T08:00:00.000000Z"}}
    assert transform({"id": "3", "custom_attributes": "oops"}) == {"id": "3", "custom_attributes": None}
    # another field sends the record through singer's Transformer: custom attributes stay typed and complete
    assert transform({"id": "4", "count": "5", "custom_attributes": {"n": "7", "z": 1}}) == \
        {"id": "4", "count": 5, "custom_attributes": {"n": 7, "z": 1}}
