#!/usr/bin/env python3
"""Derive the schemas of the streams of Intercom's newer endpoints (2.14-2.16: calls, macros, internal articles,
away status reasons, office hours, conversation attributes, custom object instances, handling events, contact
merges, call transcripts) from the 2.16 spec, with schemas_from_openapi.py's converter and rules.

Usage: scripts/schemas_newer.py ../shared/intercom-api/openapi-2.16.yaml [--out schemas] [--check]
Developer tool only (needs PyYAML); the tap never imports it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from schemas_from_openapi import (DATETIME, FREE_OBJECT, STRING, Converter, apply_override, arr,  # noqa: E402
                                  dump, load_spec, non_null, obj)

# output file -> (spec component, or None for a row the tap builds, overrides, non-null keys)
FILES = {
    "call.json": ("call", [], ["id"]),
    "internal_article.json": ("internal_article_list_item", [], ["id"]),
    "away_status_reason.json": ("away_status_reason", [], ["id"]),
    "office_hours_schedule.json": ("office_hours_schedule", [], ["id"]),
    # oneOf by data_type: the variants merged property by property (options, reference, multiline...)
    "conversation_attribute.json": ("conversation_attribute", [], ["id"]),
    "macro.json": ("macro", [], ["id", "updated_at"]),
    "custom_object_instance.json": ("custom_object_instance", [
        ("set", "custom_attributes", FREE_OBJECT),  # any attribute of the type the workspace defined
        ("set", "type", STRING),  # the custom object type the row was read for
    ], ["id", "type"]),
    # A child of the conversation search: the tap adds the parent's key and bookmark, and the teammate's id
    # at the top level (a key field: events have no id of their own).
    "conversation_handling_event.json": ("handling_event", [
        ("set", "conversation_id", STRING),
        ("set", "conversation_updated_at", DATETIME),
        ("set", "teammate_id", STRING),
    ], ["conversation_id", "teammate_id", "type", "timestamp", "conversation_updated_at"]),
    # One row per merge_history item of a user (merge_history_item), named for the warehouse.
    "contact_merge.json": (None, [
        ("set", "id", STRING), ("set", "merged_into_id", STRING), ("set", "role", STRING),
        ("set", "merged_at", DATETIME), ("set", "merged_into_updated_at", DATETIME),
    ], ["id", "merged_into_updated_at"]),
    # POST /calls/search items: a call with its transcript (free-form lines, "as sent").
    "call_transcript.json": (None, [
        ("set", "call_id", STRING), ("set", "conversation_id", STRING),
        ("set", "transcript", arr(FREE_OBJECT)), ("set", "transcript_status", STRING),
        # the call's created_at, which the bookmark follows; nullable: the spec's search example has none
        ("set", "call_created_at", DATETIME),
    ], ["call_id"]),
}


def build(spec):
    conv = Converter(spec)
    out = {}
    for filename, (component, overrides, keys) in FILES.items():
        if component:
            converted = conv.convert({"$ref": "#/components/schemas/" + component}, None, path=component)
            schema = {"type": "object", "properties": converted["properties"]}
        else:
            schema = {"type": "object", "properties": {}}
        for override in overrides:
            apply_override(schema, override)
        for key in keys:
            schema["properties"][key] = non_null(schema["properties"][key])
        out[filename] = schema
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas"))
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    schemas = build(load_spec(args.spec))
    stale = []
    for filename, schema in schemas.items():
        path = os.path.join(args.out, filename)
        if args.check:
            with open(path, encoding="utf-8") as handle:
                if handle.read() != dump(schema):
                    stale.append(filename)
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(dump(schema))
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
