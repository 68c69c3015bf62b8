"""The bundled schemas: generated from the 2.14, 2.15 and 2.16 specs (their union) plus what live workspaces
send, current with the generator; the emulator's records are declared except the fields that stand for
"whatever Intercom adds next"."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from intercom_emulator import Emulator
from tap_intercom.catalog import load_schema

# ../shared beside the checkout, as CI lays it out (the project's shared context: Intercom's OpenAPI files)
SHARED_API = ROOT.parent / "shared" / "intercom-api"
SPECS = [str(SHARED_API / f"openapi-{v}.yaml") for v in ("2.14", "2.15", "2.16")]
NOTES = str(SHARED_API / "API-NOTES.md")
sys.path.insert(0, str(ROOT / "scripts"))


def generator():
    import yaml  # noqa: F401  (the test extras install it: a missing one is an error, not a skip)
    import schemas_from_openapi
    return schemas_from_openapi


def test_committed_schemas_are_the_generators_output_and_every_example_validates():
    missing = [p for p in SPECS + [NOTES] if not os.path.exists(p)]
    assert not missing, f"{missing}: the shared folder must sit beside the checkout (../shared), as in CI"
    generator()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "schemas_from_openapi.py"), *SPECS, "--check",
                           "--notes", NOTES], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "OK: " in done.stdout


def test_union_merges_properties_at_every_depth_and_unites_types():
    g = generator()
    a = {"type": ["null", "object"], "properties": {
        "id": {"type": ["null", "string"]},
        "stats": {"type": ["null", "object"], "properties": {"n": {"type": ["null", "integer"]}}},
        "items": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
            "a": {"type": ["null", "string"]}}}},
        "free": {"type": ["null", "object"], "additionalProperties": True}}}
    b = {"type": ["null", "object"], "properties": {
        "stats": {"type": ["null", "object"], "properties": {"n": {"type": ["null", "number"]},
                                                            "m": {"type": ["null", "boolean"]}}},
        "items": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {
            "b": {"type": ["null", "integer"]}}}},
        "free": {"type": ["null", "object"], "properties": {"x": {"type": ["null", "string"]}}},
        "avatar": {"type": ["null", "string"]},
        "new": {"type": ["null", "string"]}}}
    c = {"type": ["null", "object"], "properties": {"avatar": {"type": ["null", "object"], "properties": {
        "image_url": {"type": ["null", "string"]}}}}}
    u = g.union(g.union(a, b), c)
    props = u["properties"]
    assert list(props) == ["id", "stats", "items", "free", "avatar", "new"]  # first spec's order, then additions
    assert props["stats"]["properties"]["n"]["type"] == ["null", "integer", "number"]
    assert props["stats"]["properties"]["m"]["type"] == ["null", "boolean"]
    assert set(props["items"]["items"]["properties"]) == {"a", "b"}
    assert props["free"] == {"type": ["null", "object"], "properties": {"x": {"type": ["null", "string"]}}}
    assert props["avatar"]["type"] == ["null", "string", "object"]  # a string in one version, an object in another
    assert props["avatar"]["properties"]["image_url"]["type"] == ["null", "string"]
    with pytest.raises(g.SpecError):  # a timestamp in one version and a plain integer in another: a human decides
        g.union({"type": ["null", "string"], "format": "date-time"}, {"type": ["null", "integer"]})


# The fields the emulator sends that no bundled schema declares: they stand for whatever Intercom adds next
# (a top-level field, a key inside a declared object, a key inside the objects of a declared array).
FUTURE = {
    "users": {"preferred_channel_v2", "location.postal_code_v2"},
    "contacts": {"preferred_channel_v2", "location.postal_code_v2"},
    "companies": {"health_score_v2"},
    "conversations": {"custom_channel", "statistics.count_ai_replies_v2", "contacts.contacts[].participant_role_v2"},
}
STREAM_SCHEMAS = {"users": "contact", "contacts": "contact", "social_profiles": "social_profile",
                  "companies": "company", "conversations": "conversation", "conversation_parts": "conversation_part",
                  "admins": "admin", "teams": "team", "tags": "tag", "segments": "segment",
                  "company_segments": "segment", "tickets": "ticket", "ticket_parts": "ticket_part",
                  "ticket_types": "ticket_type", "ticket_states": "ticket_state", "activity_logs": "activity_log",
                  "articles": "article", "help_center_collections": "help_center_collection",
                  "help_centers": "help_center", "news_items": "news_item", "newsfeeds": "newsfeed",
                  "subscription_types": "subscription_type", "deleted_conversations": "deleted_conversation"}


def undeclared(value, schema, path=""):
    out = set()
    if isinstance(value, dict) and isinstance(schema, dict) and "properties" in schema:
        for key, sub in value.items():
            if key not in schema["properties"]:
                out.add(path + key)
            else:
                out |= undeclared(sub, schema["properties"][key], path + key + ".")
    elif isinstance(value, list) and isinstance(schema, dict) and "items" in schema:
        for item in value:
            out |= undeclared(item, schema["items"], path[:-1] + "[].")
    return out


def test_the_emulator_sends_only_declared_fields_and_the_future_ones():
    emu = Emulator(seed=3, contacts=300, companies=40, conversations=120)
    emu.mutate(action="delete", stream="conversations", count=2)
    truth = emu.truth()
    for stream, schema_name in STREAM_SCHEMAS.items():
        assert truth[stream], stream
        schema = load_schema(schema_name)
        found = set().union(*(undeclared(r, schema) for r in truth[stream]))
        assert found == FUTURE.get(stream, set()), stream
