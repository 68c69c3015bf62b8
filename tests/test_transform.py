"""The compiled transform: its fast path gives exactly what its slow path (singer-python's Transformer, adapted
to lose nothing) gives; declared values are typed as singer types them; nothing Intercom sends is lost."""
import copy
import json

import jsonschema
from hypothesis import given, settings, strategies as st
from singer.transform import UNIX_SECONDS_INTEGER_DATETIME_PARSING, Transformer

from kept import declared_only, lost, null_booleans_as_sent
from tap_intercom.catalog import load_schema
from tap_intercom.streams import STREAMS
from tap_intercom.records.transform import RecordTransform, Slow
from tap_intercom.records.timestamps import epoch_to_rfc3339

SCHEMAS = sorted({stream.schema for stream in STREAMS})

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 2 ** 40), st.floats(allow_nan=False),
                    st.text(max_size=8), st.sampled_from(["", "12", "false", "2024-02-29T10:00:00Z", "1.5",
                                                          "1700000000123", "2024-02-29T10:00:00+02:00"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                           max_leaves=6)
UNKNOWN = {"zz_new": json_values, "teammates_like": st.fixed_dictionaries(
    {"type": st.just("admin.list"), "admins": st.lists(st.fixed_dictionaries({"id": st.text(max_size=3)}),
                                                       max_size=2)})}


def _types(schema):
    types = schema.get("type", [])
    return types if isinstance(types, list) else [types]


def values_for(schema, depth=0, anything=True):
    """Values of the schema's type, with undeclared keys in its objects; with `anything`, sometimes any value
    at all, so both paths of the transform get exercised."""
    types = _types(schema)
    options = [scalars] if anything else []
    if "null" in types:
        options.append(st.none())
    if "string" in types:
        options.append(st.integers(0, 4102444800) if schema.get("format") == "date-time" else st.text(max_size=8))
    if "integer" in types:
        options.append(st.integers(-10, 2 ** 40))
    if "number" in types:
        options.append(st.floats(allow_nan=False, allow_infinity=False, width=32))
    if "boolean" in types:
        options.append(st.booleans())
    if "object" in types and depth < 3:
        props = schema.get("properties") or {}
        if props:
            options.append(st.fixed_dictionaries({}, optional={
                **{k: values_for(v, depth + 1, anything) for k, v in props.items()}, **UNKNOWN}))
        else:
            options.append(st.dictionaries(st.text(max_size=5), scalars, max_size=3))
    if "array" in types and depth < 3:
        options.append(st.lists(values_for(schema.get("items") or {}, depth + 1, anything), max_size=3))
    if not types:
        options.append(json_values)
    return st.one_of(*options) if options else json_values


def records_for(name, anything=True):
    props = load_schema(name)["properties"]
    return st.fixed_dictionaries({}, optional={k: values_for(v, 0, anything) for k, v in props.items()})


def singer_transform(record, schema, metadata=None):
    transformer = Transformer(UNIX_SECONDS_INTEGER_DATETIME_PARSING)
    try:
        return transformer.transform(copy.deepcopy(record), copy.deepcopy(schema), metadata)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def compiled_transform(record, schema, fields=None, metadata=None):
    transform = RecordTransform("s", schema, set(schema["properties"]) if fields is None else fields, metadata)
    try:
        return transform(record)
    except Exception:  # noqa: BLE001
        from singer.transform import SchemaMismatch
        return SchemaMismatch


def same(a, b):
    if isinstance(a, type) or isinstance(b, type):
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_epoch_formatting_matches_singer():
    from singer.transform import unix_seconds_to_datetime
    for ts in [0, 1, 59, 86399, 86400, 951782400, 1709200800, 1734537511, 2 ** 31, 4102444799, 10 ** 11 - 1]:
        assert epoch_to_rfc3339(ts) == unix_seconds_to_datetime(ts)


def _fast_equals_slow(name):
    @settings(max_examples=300, deadline=None)
    @given(record=records_for(name))
    def test(record):
        schema = load_schema(name)
        original = copy.deepcopy(record)
        transform = RecordTransform("s", schema, set(schema["properties"]), None)
        try:
            slow = transform.slow(record)
        except Exception as exc:  # noqa: BLE001 - a record with no valid form: the fast path may not pass it
            slow = type(exc)
        try:
            fast = transform._fast(record)
        except Slow:
            fast = None  # the fast path defers to the slow one
        if fast is not None:
            assert same(fast, slow)
        try:  # the fast path made for the record's own keys (widening.StreamShape keeps one per key set): the same
            keyed = transform.for_keys(tuple(record))(record, None)
        except Slow:
            keyed = None
        assert (keyed is None) == (fast is None) and (fast is None or same(keyed, fast))
        if not isinstance(slow, type):
            assert jsonschema.Draft4Validator(schema).is_valid(slow)
            # what is lost was nulled: a value that fits its field in no way (warned)
            assert all(written is None for _, written in lost(record, slow)), lost(record, slow)
        assert record == original  # the input is never modified
    test.__name__ = f"test_fast_path_equals_slow_path_{name}"
    return test


def test_a_null_boolean_is_written_as_sent_where_singer_writes_false():
    schema = {"type": "object", "properties": {"id": {"type": "string"}, "on": {"type": ["null", "boolean"]},
                                               "inner": {"type": ["null", "object"], "properties": {
                                                   "off": {"type": ["null", "boolean"]}}}}}
    record = {"id": "1", "on": None, "inner": {"off": None}}
    transform = RecordTransform("s", schema, set(schema["properties"]), None)
    assert transform(record) == transform.slow(record) == record  # null, as sent, on both paths
    assert singer_transform(record, schema) == {"id": "1", "on": False, "inner": {"off": False}}  # singer's


def _declared_typed_as_singer(name):
    @settings(max_examples=150, deadline=None)
    @given(record=records_for(name, anything=False))
    def test(record):
        schema = load_schema(name)
        ours, theirs = compiled_transform(record, schema), singer_transform(record, schema)
        assert not isinstance(ours, type)
        if not isinstance(theirs, type):
            assert same(declared_only(ours, schema), null_booleans_as_sent(theirs, record, schema))
        assert lost(record, ours) == []  # undeclared keys included
    test.__name__ = f"test_declared_values_typed_as_singer_types_them_{name}"
    return test


for schema_name in SCHEMAS:
    globals()[f"test_fast_path_equals_slow_path_{schema_name}"] = _fast_equals_slow(schema_name)
    globals()[f"test_declared_values_typed_as_singer_types_them_{schema_name}"] = _declared_typed_as_singer(schema_name)


def test_undeclared_nested_keys_are_kept_at_every_depth_both_paths():
    schema = load_schema("conversation")
    record = {"id": "1", "updated_at": 1700000000,
              "teammates": {"type": "admin.list", "admins": [{"type": "admin", "id": "10553731"}]},
              "source": {"type": "email", "new_key": {"deep": [1, {"x": None}]},
                         "author": {"id": "7", "type": "user", "brand_new": True}},
              "contacts": {"type": "contact.list", "contacts": [{"id": "5", "type": "contact", "external_id": "e",
                                                                "extra": "kept"}]}}
    transform = RecordTransform("conversations", schema, set(schema["properties"]), None)
    for out in (transform(record), transform.slow(record)):
        assert out["teammates"] == record["teammates"]
        assert out["source"]["new_key"] == {"deep": [1, {"x": None}]}
        assert out["source"]["author"]["brand_new"] is True
        assert out["contacts"]["contacts"][0]["extra"] == "kept"
        assert lost(record, out) == []


def test_unexpected_types_are_converted_without_loss():
    schema = {"type": "object", "properties": {
        "id": {"type": ["null", "string"]}, "name": {"type": ["null", "string"]},
        "flag": {"type": ["null", "string"]}, "blob": {"type": ["null", "string"]},
        "list": {"type": ["null", "string"]}, "count": {"type": ["null", "integer"]},
        **{name: {"type": ["null", "string"], "format": "date-time"} for name in "abcde"},
        "on": {"type": ["null", "boolean"]}}}
    record = {"id": 10553731, "name": 1.5, "flag": True, "blob": {"b": [1, "x"]}, "list": [1, 2], "count": "1,234",
              "a": "2024-02-29T10:00:00Z", "b": "1709200800", "c": "1709200800123", "d": 1709200800123,
              "e": "2024-02-29T12:00:00+02:00", "on": "false"}
    transform = RecordTransform("s", schema, set(schema["properties"]), None)
    expected = {"id": "10553731", "name": "1.5", "flag": "true", "blob": '{"b":[1,"x"]}', "list": "[1,2]",
                "count": 1234, "a": "2024-02-29T10:00:00.000000Z", "b": "2024-02-29T10:00:00.000000Z",
                "c": "2024-02-29T10:00:00.123000Z", "d": "2024-02-29T10:00:00.123000Z",
                "e": "2024-02-29T10:00:00.000000Z", "on": False}
    assert transform(record) == expected
    assert transform.slow(record) == expected
    assert lost(record, expected) == []


def test_what_cannot_be_converted_is_null_with_one_warning(caplog):
    schema = {"type": "object", "properties": {"id": {"type": "string"}, "count": {"type": ["null", "integer"]},
                                               "at": {"type": ["null", "string"], "format": "date-time"},
                                               "on": {"type": ["null", "boolean"]}}}
    transform = RecordTransform("s", schema, set(schema["properties"]), None)
    out = [transform({"id": str(i), "count": 1.5, "at": "next tuesday", "on": "maybe"}) for i in range(3)]
    assert out == [{"id": str(i), "count": None, "at": None, "on": None} for i in range(3)]
    assert sorted(r.getMessage().split(":")[0] for r in caplog.records) == ["s.at", "s.count", "s.on"]


def test_field_selection_matches_singer_metadata():
    schema = load_schema("company")
    metadata = {("properties", "name"): {"selected": False, "inclusion": "available"},
                ("properties", "website"): {"inclusion": "unsupported"},
                ("properties", "id"): {"inclusion": "automatic", "selected": False}}
    record = {"id": "1", "name": "Acme", "website": "https://a", "updated_at": 1700000000, "size": 3}
    fields = set(schema["properties"]) - {"name", "website"}
    assert compiled_transform(record, schema, fields, metadata) == singer_transform(record, schema, metadata)
    assert compiled_transform(record, schema, fields, metadata) == {
        "id": "1", "updated_at": "2023-11-14T22:13:20.000000Z", "size": 3}


def test_nested_deselection_drops_the_field_on_both_paths():
    schema = load_schema("conversation")
    metadata = {("properties", "source", "properties", "author"): {"selected": False},
                ("properties", "source", "properties", "not_declared"): {"selected": False}}
    record = {"id": "1", "updated_at": 1700000000,
              "source": {"type": "email", "author": {"id": "7"}, "not_declared": 1, "kept": 2}}
    transform = RecordTransform("conversations", schema, set(schema["properties"]), metadata)
    for out in (transform(record), transform.slow(record)):
        assert out["source"] == {"type": "email", "kept": 2}


def test_custom_attributes_survive_whatever_their_name_or_type():
    schema = load_schema("contact")
    odd = {"Plan Tier": "gold", "monthly-spend": 12.5, "ünïcode ключ": True, "with.dot": None, "$x": [1, {"a": 2}],
           "123numeric": 1700000000, "": "empty name"}
    out = compiled_transform({"id": "c1", "updated_at": 1700000000, "custom_attributes": odd}, schema)
    assert out["custom_attributes"] == odd


def test_a_value_that_fits_no_type_becomes_null_with_one_warning(caplog):
    schema = load_schema("company")
    transform = RecordTransform("companies", schema, set(schema["properties"]), None)
    records = [{"id": str(i), "updated_at": 1700000000, "plan": "enterprise", "name": "A"} for i in range(3)]
    out = [transform(r) for r in records]
    assert all(o["plan"] is None and o["name"] == "A" for o in out)
    assert len([r for r in caplog.records if "companies.plan" in r.getMessage()]) == 1


def test_a_key_that_fits_no_type_is_an_error():
    from tap_intercom.records.transform import RecordMismatch
    schema = load_schema("company")
    transform = RecordTransform("companies", schema, set(schema["properties"]), None)
    try:
        transform({"id": "c1", "updated_at": "not a date"})
    except RecordMismatch as exc:
        assert "companies record" in str(exc)
    else:
        raise AssertionError("expected RecordMismatch")
