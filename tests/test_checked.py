"""The C-checked fast path (records/checked.py) gives exactly what the Python fast path for the same keys gives,
on every schema, typed custom attributes included; what it refuses goes the Python way; it learns string fields
sent as integers, and stops checking a stream whose records keep failing."""
import copy
import json

import pytest
from hypothesis import given, settings, strategies as st

from tap_intercom.catalog import load_schema
from tap_intercom.records import checked, custom_attributes
from tap_intercom.records.transform import RecordTransform, _object, Slow
from test_transform import SCHEMAS, records_for, values_for

TYPES = {"plan": {"type": ["null", "string"]}, "seats": {"type": ["null", "integer"]},
         "spend": {"type": ["null", "number"]}, "paid": {"type": ["null", "boolean"]},
         "trial_ends_at": {"type": ["null", "string"], "format": "date-time"},
         "renewed at": {"type": ["null", "string"], "format": "date-time"}}


@pytest.fixture(autouse=True)
def every_width(monkeypatch):
    monkeypatch.setattr(checked, "WIDE", 0)  # narrow records too, so every schema's shape is exercised


def outcome(convert, record):
    try:
        return json.dumps(convert(record, None))  # key order included
    except Slow:
        return Slow


def both(transform, record):
    """(checked, Python) fast paths' outcomes for the record's keys; the checked one must be a checked one."""
    keys = tuple(record)
    python = _object(transform._fields, nullable=False, keys=keys)
    keyed = transform.for_keys(keys)
    return outcome(keyed, record), outcome(python, record), is_checked(keyed)


def is_checked(convert):
    return "CHECK(value, V)" in convert.source


def _same_as_python(name, anything):
    @settings(max_examples=100, deadline=None)
    @given(record=records_for(name, anything=anything))
    def test(record):
        schema = load_schema(name)
        original = copy.deepcopy(record)
        transform = RecordTransform("s", schema, set(schema["properties"]), None)
        ours, python, _ = both(transform, record)
        assert ours == python
        assert record == original  # never modified
    return test


for schema_name in SCHEMAS:
    globals()[f"test_checked_equals_python_declared_types_{schema_name}"] = _same_as_python(schema_name, False)
    globals()[f"test_checked_equals_python_any_values_{schema_name}"] = _same_as_python(schema_name, True)


def typed_contact():
    return custom_attributes.typed("contact", load_schema("contact"), {"contact": TYPES})


custom_values = st.fixed_dictionaries({}, optional={
    "plan": st.one_of(st.none(), st.text(max_size=4), st.integers(0, 9)),
    "seats": st.one_of(st.none(), st.integers(-5, 10 ** 12), st.booleans(), st.just("12")),
    "spend": st.one_of(st.none(), st.integers(-5, 2 ** 60), st.floats(allow_nan=False, allow_infinity=False)),
    "paid": st.one_of(st.none(), st.booleans(), st.just("true")),
    "trial_ends_at": st.one_of(st.none(), st.integers(-1, 10 ** 12), st.just("2024-02-29T10:00:00Z")),
    "renewed at": st.one_of(st.none(), st.integers(0, 4102444800)),
    "undeclared": st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2))})


@settings(max_examples=300, deadline=None)
@given(record=records_for("contact", anything=False), custom=st.one_of(st.none(), custom_values, st.just("x")))
def test_typed_custom_attributes_checked_equals_python(record, custom):
    schema = typed_contact()
    record = {**record, "custom_attributes": custom}
    record.pop("merge_history", None)  # a nested date-time: not checked (users rows do not carry it, see streams.py)
    transform = RecordTransform("s", schema, set(schema["properties"]), None)
    ours, python, is_checked = both(transform, record)
    assert is_checked and ours == python


def contact(**values):
    record = {"type": "contact", "id": "1", "role": "user", "email": "a@b.c", "owner_id": None,
              "created_at": 1700000000, "updated_at": 1700000100, "last_seen_at": None,
              "custom_attributes": {"plan": "gold", "spend": 12, "trial_ends_at": 1700000200, "other": [1]},
              "location": {"type": "location", "country": "Nigeria", "postal_code_v2": "NGA-1"},
              "tags": {"type": "list", "data": [{"type": "tag", "id": "7", "url": "/tags/7"}], "has_more": False},
              **{f"utm_{part}": None for part in ("campaign", "content", "medium", "source", "term")},
              "referrer": None, "sms_consent": False, "name": "A", "phone": None}
    record.update(values)
    return record


def test_a_contact_passes_the_check_with_its_values_converted():
    schema = typed_contact()
    transform = RecordTransform("users", schema, set(schema["properties"]), None)
    record = contact()
    keyed = transform.for_keys(tuple(record))
    out = keyed(record, True)
    assert transform._checker.hits == [1]
    assert out["created_at"] == "2023-11-14T22:13:20.000000Z" and out["last_seen_at"] is None
    assert out["custom_attributes"] == {"plan": "gold", "spend": 12.0, "trial_ends_at": "2023-11-14T22:16:40.000000Z",
                                        "other": [1]}
    assert type(out["custom_attributes"]["spend"]) is float
    assert out["location"] is record["location"]  # unchanged nested objects are passed on, undeclared keys kept
    assert record["custom_attributes"]["spend"] == 12  # the input is not modified


def test_string_fields_sent_as_integers_are_learned():
    schema = load_schema("contact")
    transform = RecordTransform("users", schema, set(schema["properties"]), None)
    first, second = contact(owner_id=991267481, id="1"), contact(owner_id=5, id="2")
    keyed = transform.for_keys(tuple(first))
    assert keyed(first, True)["owner_id"] == "991267481"  # refused by the check, converted the Python way
    assert transform._checker.texts == {"owner_id"} and transform._checker.hits == [0]
    assert keyed(second, True)["owner_id"] == "5"  # the check now takes it
    assert transform._checker.hits == [1]


def test_a_stream_that_keeps_failing_the_check_stops_checking():
    schema = load_schema("contact")
    transform = RecordTransform("users", schema, set(schema["properties"]), None)
    records = [contact(id=str(i), sms_consent="yes") for i in range(checked._OFF_AFTER + 1)]
    keyed = transform.for_keys(tuple(records[0]))
    python = _object(transform._fields, nullable=False, keys=tuple(records[0]))
    for record in records:
        assert outcome(keyed, record) == outcome(python, record)
    assert transform._checker.names["ON"] is False
    assert outcome(keyed, contact()) == outcome(python, contact())  # still right, the Python way


def test_deselected_fields_are_dropped_and_nested_ones_keep_the_python_path():
    schema = load_schema("contact")
    metadata = {("properties", "email"): {"selected": False},
                ("properties", "location", "properties", "city"): {"selected": False}}
    fields = set(schema["properties"]) - {"email"}
    transform = RecordTransform("users", schema, fields, metadata)
    record = contact(location={"type": "location", "city": "Lagos"})
    assert not is_checked(transform.for_keys(tuple(record)))  # the nested deselection: records with `location`
    del record["location"]  # are not checked
    keyed = transform.for_keys(tuple(record))
    assert is_checked(keyed) and "email" not in keyed(record, False)
    assert outcome(keyed, record) == outcome(_object(transform._fields, nullable=False, keys=tuple(record)), record)


# ---- the last step in C (records/_finish.c) ---------------------------------------------------------------------

def test_the_c_step_is_built_by_the_install():
    # setup.py builds it as optional; on a machine like CI's (gcc, Python headers) it must be there, or the CPU a
    # contact costs is the Python step's (issue 29)
    assert checked._finish is not None


@settings(max_examples=300, deadline=None)
@given(seconds=st.one_of(st.integers(0, 10 ** 11 - 1), st.sampled_from(
    [0, 59, 60, 3599, 3600, 86399, 86400, 951782400, 951868799, 4107542399, 4107542400,
     10 ** 11 - 1])))
def test_c_date_text_is_the_python_one(seconds):
    from tap_intercom.records.timestamps import epoch_to_rfc3339
    assert checked._finish.epoch_text(seconds) == epoch_to_rfc3339(seconds)


def test_c_step_refuses_what_it_cannot_convert_and_never_changes_its_input():
    finish = checked._finish.finish
    custom = {"d": 1700000200, "n": 3, "kept": "x"}
    record = {"id": "1", "owner_id": 7, "gone": 1, "at": 1700000000, "none_at": None, "spend": 2 ** 53 - 1,
              "custom_attributes": custom}
    original = copy.deepcopy(record)
    out = finish(record, ("gone",), ("owner_id",), ("at", "none_at"), ("spend",), "custom_attributes", ("d",),
                 ("n", "absent"))
    assert out == {"id": "1", "owner_id": "7", "at": "2023-11-14T22:13:20.000000Z", "none_at": None,
                   "spend": float(2 ** 53 - 1), "custom_attributes": {"d": "2023-11-14T22:16:40.000000Z", "n": 3.0,
                                                                      "kept": "x"}}
    assert list(out) == ["id", "owner_id", "at", "none_at", "spend", "custom_attributes"]  # the record's order
    assert record == original and record["custom_attributes"] is custom
    unchanged = finish({"c": {"d": None}}, (), (), (), (), "c", ("d",), ("n",))
    assert unchanged["c"] is not None and unchanged == {"c": {"d": None}}
    for refused in ({"at": "2023-11-14"}, {"at": -1}, {"at": 10 ** 11}, {"at": True}, {"at": 2 ** 70}):
        assert finish(refused, (), (), ("at",), (), None, (), ()) is None
    for refused in (2 ** 53, -(2 ** 53), 2 ** 70):
        assert finish({"spend": refused}, (), (), (), ("spend",), None, (), ()) is None
    assert finish({"spend": -(2 ** 53) + 1}, (), (), (), ("spend",), None, (), ())["spend"] == -(2.0 ** 53) + 1
    assert finish({"c": [1]}, (), (), (), (), "c", (), ()) is None  # custom attributes that are not an object
    assert finish({"c": {"d": "soon"}}, (), (), (), (), "c", ("d",), ()) is None
    assert finish([1], (), (), (), (), None, (), ()) is None


def test_python_step_still_equals_the_fast_path(monkeypatch):
    """Where the C step is not built, the generated Python does the same (the checked path without _finish)."""
    monkeypatch.setattr(checked, "_finish", None)
    test_typed_custom_attributes_checked_equals_python()
    test_a_contact_passes_the_check_with_its_values_converted()
    test_string_fields_sent_as_integers_are_learned()
    assert "FINISH" not in RecordTransform("users", typed_contact(), set(typed_contact()["properties"]),
                                           None).for_keys(tuple(contact())).source
