#!/usr/bin/env python3
"""Derive the tap's JSON schemas (schemas/*.json) from Intercom's OpenAPI descriptions.

Usage:
    scripts/schemas_from_openapi.py SPEC.yaml [SPEC.yaml ...] [--out DIR]
    scripts/schemas_from_openapi.py SPEC.yaml [SPEC.yaml ...] --check [--notes API-NOTES.md]

    e.g. scripts/schemas_from_openapi.py ../shared/intercom-api/openapi-2.1{4,5,6}.yaml --check \
             --notes ../shared/intercom-api/API-NOTES.md

Developer tool only (needs PyYAML; `--check` also needs jsonschema and singer-python);
the tap never imports it.  The schemas are the union of the specs given, 2.14, 2.15 and 2.16
(`../shared/intercom-api/openapi-2.1{4,5,6}.yaml`), plus what live workspaces send (`REAL_WORLD`):
the tap asks for `Intercom-Version: 2.14`, yet Intercom adds fields to its objects without a new
version, so a field a later version declares may already arrive.

Generation
----------
Every stream schema starts from one component in `components.schemas`, converted in each
spec that has it and merged (`union`): properties at every depth, the union of the types
where versions disagree (none do today), a property any version declares is declared.
Each spec's component is converted by a handful of generic rules (see `Converter`):

* `$ref` is inlined (sibling keys such as `nullable` next to a `$ref` are honoured),
  `allOf` is merged, `oneOf`/`anyOf` is collapsed to one type (object variants are
  merged property by property; integer|number -> number; date-time|integer -> timestamp;
  anything else is an error that must be settled in the override table).
* JSON Schema draft 4 output: no `$ref`/`anyOf`/`oneOf`/`allOf`/`required`/`enum`,
  never `additionalProperties: false`; descriptions, examples, titles and every
  `format` other than `date-time` are dropped.
* every property (and every array item) is nullable: `"type": ["null", X]`; the
  key/replication fields listed in `NON_NULL` are the only exceptions.
* timestamps: properties named `*_at`, `waiting_since`, `snoozed_until`, or declared
  integer with format date-time/timestamp, become
  `{"type": ["null", "string"], "format": "date-time"}` (the tap turns Intercom's
  epoch seconds into RFC 3339 strings).  Durations (`time_to_*`, `handling_time`...)
  keep their integer type.
* ids: `id` and `*_id` properties are strings, so are the items of `*_ids` arrays.
* objects without declared properties (or whose only declaration is
  `additionalProperties`) become free-form `{"type": ["null", "object"],
  "additionalProperties": true}`.

After conversion and merging the per-file `OVERRIDES` are applied (documented inline), then
the `REAL_WORLD` additions, then `NON_NULL`.  Output is pretty-printed JSON (2-space indent),
property order follows the first spec (later specs' additions after it), so re-running on
the same specs gives byte-identical files.

Self-check (`--check`)
----------------------
Regenerates in memory and compares with the files on disk, loads every file and runs
`Draft4Validator.check_schema`, checks the structural rules above, then validates
examples: (a) a record synthesised from each component's per-property `example`
values, (b) records taken from the spec's response examples of the endpoints the
tap calls (both for every spec given), and (c) with `--notes`, records in the ```json
blocks of API-NOTES.md.
Each example is converted the way the tap converts records (epoch ints -> RFC 3339,
ids -> strings, a contact's plain avatar URL -> {type, image_url}) and validated with
Draft4Validator; it is also fed raw through singer-python's Transformer (unix-seconds
datetime parsing), which must succeed without dropping any field.
"""

import argparse
import copy
import datetime
import json
import os
import re
import sys

import yaml


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------

def nullable(json_type, **extra):
    out = {"type": ["null", json_type]}
    out.update(extra)
    return out


STRING = nullable("string")
BOOLEAN = nullable("boolean")
INTEGER = nullable("integer")
NUMBER = nullable("number")
DATETIME = nullable("string", format="date-time")
FREE_OBJECT = nullable("object", additionalProperties=True)


def obj(**props):
    return nullable("object", properties=props)


def arr(items):
    return nullable("array", items=items)


# Contact "addressable list" (tags, companies, notes, subscription types): at most 10
# embedded references, `url` + `has_more` to page the rest (API-NOTES 3.7).
ADDRESSABLE_LIST = obj(
    type=STRING,
    url=STRING,
    total_count=INTEGER,
    has_more=BOOLEAN,
    data=arr(obj(type=STRING, id=STRING, url=STRING)),
)


# --------------------------------------------------------------------------------------
# What to generate
# --------------------------------------------------------------------------------------

# output file -> spec component it is derived from
FILES = {
    "contact.json": "contact",                    # users, contacts (leads)
    "social_profile.json": "social_profile",      # social_profiles (child of contacts)
    "company.json": "company",                    # companies
    "conversation.json": "conversation",          # conversations (search items)
    "conversation_part.json": "conversation_part",  # conversation_parts (child)
    "admin.json": "admin",                        # admins
    "team.json": "team",                          # teams
    "tag.json": "tag",                            # tags
    "segment.json": "segment",                    # segments, company_segments
    "data_attribute.json": "data_attribute",      # company_attributes, contact_attributes
    "ticket.json": "ticket",                      # tickets (search items)
    "ticket_part.json": "ticket_part",            # ticket_parts (child)
    "ticket_type.json": "ticket_type",            # ticket_types
    "ticket_state.json": "ticket_state_detailed",  # ticket_states
    "activity_log.json": "activity_log",          # activity_logs
    "article.json": "article_list_item",          # articles
    "help_center_collection.json": "collection",  # help_center_collections
    "help_center.json": "help_center",            # help_centers
    "news_item.json": "news_item",                # news_items
    "newsfeed.json": "newsfeed",                  # newsfeeds
    "subscription_type.json": "subscription_type",  # subscription_types
    "deleted_conversation.json": "deleted_conversation_item",  # deleted_conversations (2.16 only)
}

# Key and replication fields: the only non-null properties (top level only).
NON_NULL = {
    "contact.json": ["id", "updated_at"],
    "social_profile.json": ["contact_id", "name", "url", "contact_updated_at"],
    "company.json": ["id", "updated_at"],
    "conversation.json": ["id", "updated_at"],
    "conversation_part.json": ["id", "conversation_id", "conversation_updated_at"],
    "admin.json": ["id"],
    "team.json": ["id"],
    "tag.json": ["id"],
    "segment.json": ["id"],
    # data attributes have no usable id (standard attributes carry none): the key is
    # (model, full_name), see data_attribute.json overrides below.
    "data_attribute.json": ["full_name", "model"],
    "ticket.json": ["id", "updated_at"],
    "ticket_part.json": ["id", "ticket_id", "ticket_updated_at"],
    "ticket_type.json": ["id"],
    "ticket_state.json": ["id"],
    "activity_log.json": ["id", "created_at"],
    "article.json": ["id"],
    "help_center_collection.json": ["id"],
    "help_center.json": ["id"],
    "news_item.json": ["id"],
    "newsfeed.json": ["id"],
    "subscription_type.json": ["id"],
    "deleted_conversation.json": ["id"],
}

# Per-file overrides, applied in order after the generic conversion.
# Paths are dotted property names; `[]` steps into array items ("tags.data[].id").
#   ("set", path, schema)  add or replace the property at path (parent must exist)
#   ("drop", path)         remove the property
#   ("copy", path, to)     the property at path also under `to`
OVERRIDES = {
    "contact.json": [
        # Any custom attribute name/type must survive: free-form, no `properties`
        # (the spec has a bare `type: object`, which the generic rule already maps
        # to the same thing; stated here because the tap depends on it).
        ("set", "custom_attributes", FREE_OBJECT),
        # Spec declares `avatar` as {type, image_url}; the docs/SDKs return a plain
        # URL string.  The tap normalises the string into this object.
        ("set", "avatar", obj(type=STRING, image_url=STRING)),
        # The list wrappers carry `type: "list"` in every response example, but the
        # spec components (contact_tags/_companies/_notes/_social_profiles) omit it.
        ("set", "tags.type", STRING),
        ("set", "companies.type", STRING),
        ("set", "notes.type", STRING),
        ("set", "social_profiles.type", STRING),
        # Declared by the GET /contacts/{id} response (allOf contact + this field).
        ("set", "enabled_push_messaging", BOOLEAN),
        # 2.16 opt-in (`include_merge_history=true`, component merge_history_item);
        # never sent under 2.14, declared so the data survives an opt-in/version bump.
        ("set", "merge_history", arr(obj(type=STRING, merged_at=DATETIME,
                                         source_contact_id=STRING,
                                         source_contact_role=STRING))),
    ],
    "social_profile.json": [
        # Child stream of contacts: the tap adds the parent's key and bookmark.
        ("set", "contact_id", STRING),
        ("set", "contact_updated_at", DATETIME),
    ],
    "company.json": [
        # Spec says integer, the data-attributes list calls it `float`: keep fractions.
        ("set", "monthly_spend", NUMBER),
        # Spec says additionalProperties: {type: string}; values are any JSON type.
        ("set", "custom_attributes", FREE_OBJECT),
    ],
    "conversation.json": [
        # Search/list items never carry parts; they are the conversation_parts stream.
        ("drop", "conversation_parts"),
        # Spec: additionalProperties anyOf[string, integer, datetime, object list].
        ("set", "custom_attributes", FREE_OBJECT),
        # Present (as {} / null) in every 2.14 conversation response example but not
        # declared by the component; shapes unknown, so kept free-form.
        ("set", "topics", FREE_OBJECT),
        ("set", "ticket", FREE_OBJECT),
    ],
    "conversation_part.json": [
        # Child stream of conversations: the tap adds the parent's key and bookmark.
        ("set", "conversation_id", STRING),
        ("set", "conversation_updated_at", DATETIME),
    ],
    "admin.json": [
        # 2.14 declares `avatar` as a URL string (2.11 had an {image_url} object);
        # the generic rules already give a nullable string.
    ],
    "team.json": [],
    "tag.json": [],
    "segment.json": [],
    "data_attribute.json": [
        # Spec: integer, and only custom attributes have one -> nullable string
        # (ids are strings everywhere); not a key field.
        ("set", "id", STRING),
    ],
    "ticket.json": [
        # Search items never carry parts; they are the ticket_parts stream.
        ("drop", "ticket_parts"),
        # Spec: additionalProperties anyOf[string, number, boolean, array, file]: any custom attribute
        # name and type must survive.
        ("set", "ticket_attributes", FREE_OBJECT),
        # Every 2.14 ticket example carries these; the components do not declare them.
        ("set", "ticket_type.is_internal", BOOLEAN),
        ("copy", "ticket_type.ticket_type_attributes.ticket_type_attributes",
         "ticket_type.ticket_type_attributes.data"),
    ],
    "ticket_part.json": [
        # Child stream of tickets: the tap adds the parent's key (its `id`) and bookmark.
        ("set", "ticket_id", STRING),
        ("set", "ticket_updated_at", DATETIME),
    ],
    "ticket_type.json": [
        # The examples carry `is_internal` and list attributes under `data` (the component says
        # `ticket_type_attributes`): both are declared.
        ("set", "is_internal", BOOLEAN),
        ("copy", "ticket_type_attributes.ticket_type_attributes", "ticket_type_attributes.data"),
    ],
    "ticket_state.json": [
        ("set", "ticket_types.data[].is_internal", BOOLEAN),  # in the examples, not the component
    ],
    "activity_log.json": [
        # Its keys depend on the activity type (the 2.14 example has `message` and string `before`/`after`,
        # which the component declares as objects): kept free-form.
        ("set", "metadata", FREE_OBJECT),
    ],
    "article.json": [],
    "help_center_collection.json": [],
    "help_center.json": [],
    "news_item.json": [],
    "newsfeed.json": [],
    "subscription_type.json": [],
}

# What live workspaces send that no spec version declares (API-NOTES 10 and 3.7: responses recorded
# 2020-2026), applied after OVERRIDES, same actions.  Ids that arrive as integers (conversations'
# admin_assignee_id/team_assignee_id, articles' author_id, content_id) stay declared as strings: the tap
# turns numbers into their text without loss.  A value whose real type differs in kind from the spec's
# (an object where the spec says a string) is declared with both types: {"type": ["null", "string",
# "object"], ...}; none is known today beyond the free-form objects below.
REAL_WORLD = {
    "contact.json": [
        ("set", "formatted_phone", STRING),           # declared by 2.11, still sent
        ("set", "location.country_code", STRING),     # in the 2.14/2.16 GET /contacts/{id} examples
        ("set", "location.continent_code", STRING),
        ("set", "opted_out_subscription_types", ADDRESSABLE_LIST),  # lists like tags
        ("set", "opted_in_subscription_types", ADDRESSABLE_LIST),
        ("set", "utm_campaign", STRING),
        ("set", "utm_content", STRING),
        ("set", "utm_medium", STRING),
        ("set", "utm_source", STRING),
        ("set", "utm_term", STRING),
        ("set", "referrer", STRING),
        ("set", "sms_consent", BOOLEAN),              # SMS compliance data
        ("set", "unsubscribed_from_sms", BOOLEAN),
    ],
    "conversation.json": [
        # Every recording 2022-2026 lists the teammates under `admins`, never the spec's `teammates`
        # list (which stays declared: a workspace may yet send it).
        ("set", "teammates.admins", arr(obj(type=STRING, id=STRING))),
        # `topics` ({} in the spec's examples) and `ticket` (an object with an integer id and custom
        # attributes wrapped as {value, type}) stay free-form (OVERRIDES): shapes not published.
    ],
    "article.json": [
        ("set", "content_id", STRING),                # list items carry it (an integer)
    ],
}

TIMESTAMP_NAMES = {"waiting_since", "snoozed_until"}
# Properties kept free-form wherever they appear: a ticket part's updated_attribute_data holds a value that is
# a string or an array of file ids/names (one JSON type cannot say both).
FREE_FORM_NAMES = {"updated_attribute_data"}
SCALAR_TYPES = {"string", "integer", "number", "boolean"}


def is_timestamp_name(name):
    return name is not None and (name.endswith("_at") or name in TIMESTAMP_NAMES)


def is_id_name(name):
    return name is not None and (name == "id" or name.endswith("_id"))


def is_ids_name(name):
    return name is not None and name.endswith("_ids")


# --------------------------------------------------------------------------------------
# OpenAPI -> JSON Schema draft 4
# --------------------------------------------------------------------------------------

class SpecError(Exception):
    pass


class Converter:
    def __init__(self, spec):
        self.spec = spec
        self.components = spec["components"]["schemas"]

    # -- resolution -------------------------------------------------------------------

    def deref(self, node, stack):
        """Inline `$ref`s; keys next to a `$ref` (nullable, description) win."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/components/schemas/"):
                raise SpecError("unsupported $ref %r" % ref)
            name = ref.rsplit("/", 1)[1]
            if name in stack:
                return None, stack  # recursive structure: caller emits a free-form object
            if name not in self.components:
                raise SpecError("dangling $ref %r" % ref)
            stack = stack + (name,)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            target = dict(self.components[name])
            target.update(siblings)
            node = target
        return node, stack

    def flatten(self, node, stack, path):
        """Return an equivalent node without $ref/allOf/oneOf/anyOf at its top."""
        node, stack = self.deref(node, stack)
        if node is None:
            return {"type": "object"}, stack
        if "allOf" in node:
            parts = []
            for sub in node["allOf"]:
                flat, _ = self.flatten(sub, stack, path)
                parts.append(flat)
            own = {k: v for k, v in node.items() if k != "allOf"}
            parts.append(own)
            node = self.merge_objects(parts, stack, path, keep=own)
        for key in ("oneOf", "anyOf"):
            if key in node:
                variants = [self.flatten(sub, stack, path)[0] for sub in node[key]]
                own = {k: v for k, v in node.items() if k != key}
                node = self.collapse(variants, own, stack, path)
        return node, stack

    @staticmethod
    def node_type(node):
        typ = node.get("type")
        if typ is None and ("properties" in node or "additionalProperties" in node):
            typ = "object"
        return typ

    def merge_objects(self, parts, stack, path, keep):
        merged = {k: v for k, v in keep.items() if k not in ("properties", "type")}
        props = {}
        for part in parts:
            if self.node_type(part) not in (None, "object"):
                raise SpecError("%s: cannot merge non-object %r" % (path, part))
            if part.get("nullable"):
                merged["nullable"] = True
            for name, sub in (part.get("properties") or {}).items():
                if name in props:
                    a, _ = self.flatten(props[name], stack, path + "." + name)
                    b, _ = self.flatten(sub, stack, path + "." + name)
                    if self.node_type(a) == "object" and self.node_type(b) == "object":
                        sub = self.merge_objects([a, b], stack, path + "." + name, keep={})
                    elif self.node_type(a) != self.node_type(b):
                        raise SpecError("%s.%s: conflicting types" % (path, name))
                props[name] = sub
        merged["type"] = "object"
        if props:
            merged["properties"] = props
        return merged

    def collapse(self, variants, own, stack, path):
        """oneOf/anyOf -> one type."""
        types = [self.node_type(v) for v in variants]
        if all(t == "object" for t in types):
            return self.merge_objects(variants + [own], stack, path, keep=own)
        out = {k: v for k, v in own.items() if k not in ("type", "properties")}
        if any(v.get("nullable") for v in variants):
            out["nullable"] = True
        if set(types) <= {"integer", "number"}:
            out["type"] = "number"
            return out
        formats = {v.get("format") for v in variants if v.get("type") == "string"}
        if set(types) == {"string", "integer"} and formats == {"date-time"}:
            out.update(type="integer", format="date-time")  # -> timestamp
            return out
        if len(set(types)) == 1 and types[0] in SCALAR_TYPES:
            out["type"] = types[0]
            return out
        raise SpecError("%s: cannot collapse variants %r; add an override" % (path, types))

    # -- conversion -------------------------------------------------------------------

    def convert(self, node, name, stack=(), path=""):
        """Convert an OpenAPI schema node to a nullable draft-4 schema."""
        if name in FREE_FORM_NAMES:
            return copy.deepcopy(FREE_OBJECT)
        node, stack = self.flatten(node, stack, path)
        typ = self.node_type(node)
        fmt = node.get("format")

        if typ in (None, "integer", "number", "string") and (
                is_timestamp_name(name)
                or (typ == "integer" and fmt in ("date-time", "timestamp"))
                or (typ == "string" and fmt == "date-time")):
            return copy.deepcopy(DATETIME)
        if is_id_name(name) and typ in (None, "integer", "number", "string"):
            return copy.deepcopy(STRING)
        if typ == "object":
            props = node.get("properties") or {}
            if not props:
                return copy.deepcopy(FREE_OBJECT)
            out = {"type": ["null", "object"], "properties": {}}
            for pname, pnode in props.items():
                out["properties"][pname] = self.convert(
                    pnode, pname, stack, path + "." + pname)
            return out
        if typ == "array":
            items = node.get("items")
            if items is None:
                raise SpecError("%s: array without items; add an override" % path)
            if is_ids_name(name):
                item_schema = copy.deepcopy(STRING)
            else:
                item_schema = self.convert(items, None, stack, path + "[]")
            return {"type": ["null", "array"], "items": item_schema}
        if typ in SCALAR_TYPES:
            return nullable(typ)
        if typ is None:
            # untyped property: a human has to decide what it is
            raise SpecError("%s: untyped property; add an override" % path)
        raise SpecError("%s: unsupported type %r" % (path, typ))


# --------------------------------------------------------------------------------------
# Overrides and assembly
# --------------------------------------------------------------------------------------

def _walk_to_parent(schema, path):
    steps = path.split(".")
    node = schema
    for step in steps[:-1]:
        is_items = step.endswith("[]")
        node = node["properties"][step[:-2] if is_items else step]
        if is_items:
            node = node["items"]
    return node, steps[-1]


def apply_override(schema, override):
    action, path = override[0], override[1]
    parent, leaf = _walk_to_parent(schema, path)
    props = parent.setdefault("properties", {})
    if action == "set":
        props[leaf] = copy.deepcopy(override[2])
    elif action == "copy":  # ("copy", from_path, to_path): the same schema under a second name
        source_parent, source_leaf = _walk_to_parent(schema, path)
        target_parent, target_leaf = _walk_to_parent(schema, override[2])
        target_parent.setdefault("properties", {})[target_leaf] = copy.deepcopy(
            source_parent["properties"][source_leaf])
    elif action == "drop":
        if leaf not in props:
            raise SpecError("drop %s: no such property" % path)
        del props[leaf]
    else:
        raise SpecError("unknown override action %r" % action)


def non_null(prop):
    typ = [t for t in prop["type"] if t != "null"]
    if len(typ) != 1:
        raise SpecError("cannot make %r non-null" % prop)
    out = dict(prop)
    out["type"] = typ[0]
    return out


def _types(node):
    typ = node.get("type")
    return list(typ) if isinstance(typ, list) else [typ]


def union(a, b, path=""):
    """One schema admitting what either admits: the types united (null first), properties merged at
    every depth (a's order, then b's additions), array items united.  A free-form object and a
    declared one give the declared one (undeclared keys are kept by the tap either way)."""
    if a == b:
        return copy.deepcopy(a)
    out = copy.deepcopy(a)
    types = _types(a) + [t for t in _types(b) if t not in _types(a)]
    out["type"] = (["null"] if "null" in types else []) + [t for t in types if t != "null"]
    if "properties" in b:
        props = out.setdefault("properties", {})
        out.pop("additionalProperties", None)
        for name, sub in b["properties"].items():
            props[name] = union(props[name], sub, path + "." + name) if name in props else copy.deepcopy(sub)
    elif "additionalProperties" in b and "properties" not in out:
        out["additionalProperties"] = b["additionalProperties"]
    if "items" in b:
        out["items"] = union(out["items"], b["items"], path + "[]") if "items" in out else copy.deepcopy(b["items"])
    if a.get("format") != b.get("format") or (out.get("format") and [t for t in out["type"] if t != "null"] != ["string"]):
        # merging happens before OVERRIDES: a human settles it in the conversion rules (TIMESTAMP_NAMES)
        raise SpecError("%s: versions disagree on a date-time (%r, %r)" % (path, a, b))
    return out


def build_schemas(specs):
    """{file: schema} from one spec or a list of specs (the union of their components)."""
    convs = [Converter(spec) for spec in (specs if isinstance(specs, list) else [specs])]
    out = {}
    for filename, component in FILES.items():
        converted = None
        for conv in convs:
            if component not in conv.components:
                continue  # a component only later versions have (deleted_conversation_item: 2.16)
            one = conv.convert({"$ref": "#/components/schemas/" + component}, None, path=component)
            converted = one if converted is None else union(converted, one, component)
        if converted is None:
            raise SpecError("%s: no spec given has component %s" % (filename, component))
        schema = {"type": "object", "properties": converted["properties"]}
        for override in OVERRIDES.get(filename, []) + REAL_WORLD.get(filename, []):
            apply_override(schema, override)
        for key in NON_NULL[filename]:
            schema["properties"][key] = non_null(schema["properties"][key])
        out[filename] = schema
    return out


def dump(schema):
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def load_spec(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def write_schemas(schemas, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for filename, schema in schemas.items():
        with open(os.path.join(out_dir, filename), "w", encoding="utf-8") as handle:
            handle.write(dump(schema))


# --------------------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------------------

def structural_problems(filename, schema):
    problems = []
    non_null_keys = set(NON_NULL[filename])

    def walk(node, path, name, top_level):
        if not isinstance(node, dict):
            problems.append("%s: not an object" % path)
            return
        for bad in ("$ref", "anyOf", "oneOf", "allOf", "required", "enum"):
            if bad in node:
                problems.append("%s: has %s" % (path, bad))
        if node.get("additionalProperties") is False:
            problems.append("%s: additionalProperties false" % path)
        typ = node.get("type")
        types = typ if isinstance(typ, list) else [typ]
        if top_level and name in non_null_keys:
            if "null" in types:
                problems.append("%s: key field is nullable" % path)
        elif "null" not in types:
            problems.append("%s: not nullable" % path)
        if node.get("format") not in (None, "date-time"):
            problems.append("%s: format %s" % (path, node["format"]))
        if is_timestamp_name(name) and node.get("format") != "date-time":
            problems.append("%s: timestamp without date-time" % path)
        if node.get("format") == "date-time" and [t for t in types if t != "null"] != ["string"]:
            problems.append("%s: date-time on non-string" % path)
        # (translated_content.id is the Indonesian translation, an object, not an id)
        if is_id_name(name) and [t for t in types if t != "null"] != ["string"] and \
                not path.endswith("translated_content.id"):
            problems.append("%s: id is not a string" % path)
        if "array" in types:
            if "items" not in node:
                problems.append("%s: array without items" % path)
            else:
                item_types = node["items"].get("type")
                if is_ids_name(name) and item_types != ["null", "string"]:
                    problems.append("%s: *_ids items are not strings" % path)
                walk(node["items"], path + "[]", None, False)
        if "object" in types:
            props = node.get("properties")
            if props is None and node.get("additionalProperties") is not True:
                problems.append("%s: object without properties is not free-form" % path)
            if props is not None and "additionalProperties" in node:
                problems.append("%s: properties and additionalProperties" % path)
            for pname, pnode in (props or {}).items():
                walk(pnode, path + "." + pname, pname, False)
        if name == "custom_attributes" and node != FREE_OBJECT:
            problems.append("%s: custom_attributes is not free-form" % path)

    if schema.get("type") != "object" or set(schema) != {"type", "properties"}:
        problems.append("top level must be exactly {type: object, properties}")
    for pname, pnode in schema["properties"].items():
        walk(pnode, pname, pname, True)
    return problems


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_avatar(filename, record):
    """The tap turns a contact's plain avatar URL into {type, image_url}."""
    if filename == "contact.json" and isinstance(record.get("avatar"), str):
        record = dict(record)
        record["avatar"] = {"type": "avatar", "image_url": record["avatar"]}
    return record


def convert_example(value, name=None):
    """Convert a raw API record the way the tap does (name-based, schema-blind)."""
    if isinstance(value, dict):
        return {k: convert_example(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if is_ids_name(name):
            return [str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                    for v in value]
        return [convert_example(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if is_timestamp_name(name) and isinstance(value, (int, float)):
        return rfc3339(value)
    if is_id_name(name) and isinstance(value, (int, float)):
        return str(value)
    return value


def undeclared_keys(value, schema, path=""):
    """Keys a record carries that the schema would drop (singer transform filters)."""
    found = []
    if isinstance(value, dict) and isinstance(schema, dict):
        props = schema.get("properties")
        if props is None:
            return found  # free-form
        for key, sub in value.items():
            if key not in props:
                found.append(path + key)
            else:
                found.extend(undeclared_keys(sub, props[key], path + key + "."))
    elif isinstance(value, list) and isinstance(schema, dict) and "items" in schema:
        for item in value:
            found.extend(undeclared_keys(item, schema["items"], path + "[]."))
    return found


def component_example(conv, node, name=None, stack=(), depth=0):
    """Build a record from the per-property `example` values of a component."""
    if name in FREE_FORM_NAMES or name in WRONG_EXAMPLES:
        return _MISSING
    node, stack = conv.flatten(node, stack, name or "")
    if "example" in node and conv.node_type(node) != "object":
        return node["example"]
    typ = conv.node_type(node)
    if typ == "object" and depth < 8:
        props = node.get("properties") or {}
        if not props:
            return node.get("example", {})
        out = {}
        for pname, pnode in props.items():
            val = component_example(conv, pnode, pname, stack, depth + 1)
            if val is not _MISSING:
                out[pname] = val
        return out
    if typ == "array":
        item = component_example(conv, node.get("items", {}), None, stack, depth + 1)
        return [] if item is _MISSING else [item]
    return _MISSING


_MISSING = object()
# Component examples of the wrong type in the 2.14 spec (input_options "multiline: true", a collection's order
# "1"): left out of the synthesised records; the response examples show the real types.
WRONG_EXAMPLES = {"input_options", "order"}

# (file, method, path) of the endpoints whose 2xx response examples hold records.
EXAMPLE_SOURCES = [
    ("admin.json", "get", "/admins"),
    ("admin.json", "get", "/admins/{admin_id}"),
    ("team.json", "get", "/teams"),
    ("team.json", "get", "/teams/{team_id}"),
    ("tag.json", "get", "/tags"),
    ("tag.json", "get", "/tags/{tag_id}"),
    ("segment.json", "get", "/segments"),
    ("segment.json", "get", "/segments/{segment_id}"),
    ("company.json", "get", "/companies"),
    ("company.json", "post", "/companies/list"),
    ("company.json", "get", "/companies/scroll"),
    ("company.json", "get", "/companies/{company_id}"),
    ("data_attribute.json", "get", "/data_attributes"),
    ("contact.json", "get", "/contacts"),
    ("contact.json", "post", "/contacts/search"),
    ("contact.json", "get", "/contacts/{contact_id}"),
    ("conversation.json", "get", "/conversations"),
    ("conversation.json", "post", "/conversations/search"),
    ("conversation.json", "get", "/conversations/{conversation_id}"),
    ("ticket.json", "post", "/tickets/search"),
    ("ticket.json", "get", "/tickets/{ticket_id}"),
    ("ticket_type.json", "get", "/ticket_types"),
    ("ticket_state.json", "get", "/ticket_states"),
    ("activity_log.json", "get", "/admins/activity_logs"),
    ("article.json", "get", "/articles"),
    ("help_center_collection.json", "get", "/help_center/collections"),
    ("help_center.json", "get", "/help_center/help_centers"),
    ("news_item.json", "get", "/news/news_items"),
    ("newsfeed.json", "get", "/news/newsfeeds"),
    ("subscription_type.json", "get", "/subscription_types"),
    ("deleted_conversation.json", "get", "/conversations/deleted"),
]
# The `type` of a file's records in responses (None: the records carry no type; every listed item counts).
RECORD_TYPE = {**{f: c for f, c in FILES.items()}, "ticket_state.json": "ticket_state", "activity_log.json": None,
               "article.json": "article", "help_center_collection.json": None, "news_item.json": "news-item",
               "subscription_type.json": "subscription", "deleted_conversation.json": "conversation"}
LIST_KEYS = ("data", "admins", "teams", "segments", "conversations", "tickets", "activity_logs")
# Deleted conversations share `type: conversation` with conversations: only items with deleted_at are theirs.
RECORD_TEST = {"deleted_conversation.json": lambda item: "deleted_at" in item}


def records_in(payload, record_type, filename=None):
    if not isinstance(payload, dict):
        return []
    test = RECORD_TEST.get(filename, lambda item: True)
    if record_type is not None and payload.get("type") == record_type:
        return [payload] if test(payload) else []
    out = []
    for key in LIST_KEYS:
        for item in payload.get(key) or []:
            if isinstance(item, dict) and item.get("type", record_type) == record_type and test(item):
                out.append(item)
    return out


def explode(filename, record):
    """Split a raw record into (file, record) pairs the way the tap's streams do."""
    pairs = []
    record = dict(record)
    if filename == "conversation.json":
        parts = record.pop("conversation_parts", None) or {}
        for part in parts.get("conversation_parts") or []:
            child = dict(part)
            child["conversation_id"] = record.get("id")
            child["conversation_updated_at"] = record.get("updated_at")
            pairs.append(("conversation_part.json", child))
    if filename == "ticket.json":
        parts = record.pop("ticket_parts", None) or {}
        for part in parts.get("ticket_parts") or []:
            pairs.append(("ticket_part.json", dict(part, ticket_id=record.get("id"),
                                                   ticket_updated_at=record.get("updated_at"))))
    if filename == "contact.json":
        for prof in (record.get("social_profiles") or {}).get("data") or []:
            child = dict(prof)
            child["contact_id"] = record.get("id")
            child["contact_updated_at"] = record.get("updated_at")
            pairs.append(("social_profile.json", child))
    pairs.insert(0, (filename, record))
    return pairs


def spec_examples(spec, conv):
    examples = []  # (label, file, raw record)
    version = (spec.get("info") or {}).get("version", "?")
    for filename, component in FILES.items():
        if component not in conv.components:
            continue
        rec = component_example(conv, {"$ref": "#/components/schemas/" + component})
        if filename == "social_profile.json":
            rec.update(contact_id="5ba682d23d7cf92bef87bfd4", contact_updated_at=1571672154)
        if filename == "conversation_part.json":
            rec.update(conversation_id="1295", conversation_updated_at=1663597260)
        if filename == "ticket_part.json":
            rec.update(ticket_id="631", ticket_updated_at=1663597260)
        for fname, r in explode(filename, rec):
            examples.append(("%s component %s example" % (version, component), fname, r))
    for filename, method, path in EXAMPLE_SOURCES:
        op = (spec["paths"].get(path) or {}).get(method)
        if op is None:
            continue  # an endpoint this version does not have
        for code, response in op["responses"].items():
            if not str(code).startswith("2"):
                continue
            for content in (response.get("content") or {}).values():
                named = dict((content.get("examples") or {}))
                for ex_name, ex in named.items():
                    for rec in records_in(ex.get("value"), RECORD_TYPE[filename], filename):
                        for fname, r in explode(filename, rec):
                            examples.append(("%s %s %s %s %r" % (version, method.upper(), path, code,
                                                                 ex_name), fname, r))
    return examples


def notes_examples(notes_path):
    with open(notes_path, encoding="utf-8") as handle:
        text = handle.read()
    examples = []
    for i, block in enumerate(re.findall(r"```json\n(.*?)```", text, re.S)):
        try:
            payload = json.loads(block)
        except ValueError:
            continue
        for filename in FILES:
            rtype = RECORD_TYPE[filename]
            for rec in records_in(payload, rtype, filename):
                for fname, r in explode(filename, rec):
                    examples.append(("API-NOTES json block %d" % i, fname, r))
    # the notes also give single-line records for team/data_attribute models
    for match in re.findall(r"`(\{\"type\":\"(?:team|data_attribute)\".*?\})`", text):
        rec = json.loads(match)
        filename = rec["type"] + ".json"
        examples.append(("API-NOTES inline %s" % rec["type"], filename, rec))
    return examples


def run_check(spec_paths, out_dir, notes_path):
    import jsonschema
    import importlib
    singer_transform = importlib.import_module("singer.transform")

    specs = [load_spec(path) for path in spec_paths]
    schemas = build_schemas(specs)
    failures = []

    # 1. files on disk are current and valid draft 4
    loaded = {}
    for filename, schema in schemas.items():
        path = os.path.join(out_dir, filename)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if text != dump(schema):
            failures.append("%s: stale (re-run the generator)" % filename)
        loaded[filename] = json.loads(text)
        try:
            jsonschema.Draft4Validator.check_schema(loaded[filename])
        except jsonschema.SchemaError as exc:
            failures.append("%s: check_schema: %s" % (filename, exc))
        for problem in structural_problems(filename, loaded[filename]):
            failures.append("%s: %s" % (filename, problem))

    # 2. conversation list/search items are the conversation component minus parts
    for spec in specs:
        components = spec["components"]["schemas"]
        if "conversation_list_item" not in components:
            continue
        item = dict(components["conversation_list_item"]["properties"])
        full = dict(components["conversation"]["properties"])
        full.pop("conversation_parts", None)
        if item != full:
            failures.append("%s: conversation_list_item differs from conversation minus parts"
                            % spec["info"]["version"])

    # 3. examples, from every spec
    examples = []
    for spec in specs:
        examples += spec_examples(spec, Converter(spec))
    if notes_path:
        examples += notes_examples(notes_path)
    counts = {}
    for label, filename, raw in examples:
        schema = loaded[filename]
        raw = normalise_avatar(filename, raw)
        record = convert_example(raw)
        validator = jsonschema.Draft4Validator(schema)
        for err in validator.iter_errors(record):
            failures.append("%s -> %s: %s at %s" % (label, filename, err.message,
                                                    "/".join(map(str, err.path))))
        dropped = undeclared_keys(record, schema)
        if dropped:
            failures.append("%s -> %s: undeclared keys %s" % (label, filename, dropped))
        # raw record through singer's transformer (as the tap may do)
        raw_for_singer = copy.deepcopy(raw)
        with singer_transform.Transformer(
                singer_transform.UNIX_SECONDS_INTEGER_DATETIME_PARSING) as transformer:
            try:
                out = transformer.transform(raw_for_singer, schema)
                for err in jsonschema.Draft4Validator(schema).iter_errors(out):
                    failures.append("%s -> %s: after singer transform: %s" % (
                        label, filename, err.message))
            except singer_transform.SchemaMismatch as exc:
                failures.append("%s -> %s: singer transform: %s" % (label, filename, exc))
            if transformer.removed:
                failures.append("%s -> %s: singer removed %s" % (
                    label, filename, sorted(transformer.removed)))
        counts[filename] = counts.get(filename, 0) + 1

    for filename in FILES:
        print("%-24s %3d example record(s) validated" % (filename, counts.get(filename, 0)))
    if failures:
        print("\nFAILED:")
        for failure in failures:
            print("  " + failure)
        return 1
    print("OK: %d schemas, %d example records" % (len(schemas), len(examples)))
    return 0


# --------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", nargs="+", help="paths to the OpenAPI YAML files (2.14, 2.15, 2.16)")
    default_out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "schemas")
    parser.add_argument("--out", default=default_out, help="schema directory (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; verify the files in --out against the spec")
    parser.add_argument("--notes", help="with --check: also validate API-NOTES.md json examples")
    args = parser.parse_args(argv)

    if args.check:
        return run_check(args.spec, args.out, args.notes)
    schemas = build_schemas([load_spec(path) for path in args.spec])
    write_schemas(schemas, args.out)
    for filename in schemas:
        print(os.path.join(args.out, filename))
    return 0


if __name__ == "__main__":
    sys.exit(main())
