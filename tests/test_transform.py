"""The compiled transform gives exactly what singer-python's Transformer gives, fast path or not."""
import copy
import json

import jsonschema
from hypothesis import given, settings, strategies as st
from singer.transform import UNIX_SECONDS_INTEGER_DATETIME_PARSING, Transformer

from tap_intercom.catalog import load_schema
from tap_intercom.streams import STREAMS
from tap_intercom.transform import RecordTransform, epoch_to_rfc3339

SCHEMAS = sorted({stream.schema for stream in STREAMS})

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 2 ** 40), st.floats(allow_nan=False),
                    st.text(max_size=8), st.sampled_from(["", "12", "false", "2024-02-29T10:00:00Z", "1.5"]))


def values_for(schema, depth=0):
    """Mostly values of the schema's type, sometimes anything: both paths of the transform get exercised."""
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    options = [scalars]
    if "string" in types and schema.get("format") == "date-time":
        options.append(st.integers(0, 4102444800))
    if "object" in types and depth < 3:
        props = schema.get("properties") or {}
        if props:
            options.append(st.fixed_dictionaries({}, optional={k: values_for(v, depth + 1) for k, v in props.items()}))
        else:
            options.append(st.dictionaries(st.text(max_size=5), scalars, max_size=3))
    if "array" in types and depth < 3:
        options.append(st.lists(values_for(schema.get("items") or {}, depth + 1), max_size=3))
    return st.one_of(*options)


def singer_transform(record, schema, metadata=None):
    transformer = Transformer(UNIX_SECONDS_INTEGER_DATETIME_PARSING)
    try:
        return transformer.transform(copy.deepcopy(record), copy.deepcopy(schema), metadata)
    except Exception as exc:  # noqa: BLE001 - the compiled transform must fail too
        return type(exc)


def compiled_transform(record, schema, fields=None, metadata=None):
    transform = RecordTransform("s", schema, set(schema["properties"]) if fields is None else fields, metadata)
    try:
        return transform(record)
    except Exception:  # noqa: BLE001
        from singer.transform import SchemaMismatch
        return SchemaMismatch


def records_for(name):
    schema = load_schema(name)
    props = schema["properties"]
    return st.fixed_dictionaries({}, optional={**{k: values_for(v) for k, v in props.items()},
                                               "not_in_schema": scalars})


def same(a, b):
    if isinstance(a, type) or isinstance(b, type):
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_epoch_formatting_matches_singer():
    from singer.transform import unix_seconds_to_datetime
    for ts in [0, 1, 59, 86399, 86400, 951782400, 1709200800, 1734537511, 2 ** 31, 4102444799, 253402300799]:
        assert epoch_to_rfc3339(ts) == unix_seconds_to_datetime(ts)


for schema_name in SCHEMAS:
    def make(name):
        @settings(max_examples=300, deadline=None)
        @given(record=records_for(name))
        def test(record):
            schema = load_schema(name)
            original = copy.deepcopy(record)
            ours, theirs = compiled_transform(record, schema), singer_transform(record, schema)
            if isinstance(theirs, type):  # singer fails the record; ours nulls what fits no type, or fails too
                assert isinstance(ours, type) or jsonschema.Draft4Validator(schema).is_valid(ours)
            else:
                assert same(ours, theirs)
            assert record == original  # the input is never modified
        test.__name__ = f"test_same_output_as_singer_{name}"
        return test
    globals()[f"test_same_output_as_singer_{schema_name}"] = make(schema_name)


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
    from tap_intercom.transform import RecordMismatch
    schema = load_schema("company")
    transform = RecordTransform("companies", schema, set(schema["properties"]), None)
    try:
        transform({"id": "c1", "updated_at": "not a date"})
    except RecordMismatch as exc:
        assert "companies record" in str(exc)
    else:
        raise AssertionError("expected RecordMismatch")
