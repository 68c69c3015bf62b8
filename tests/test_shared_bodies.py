"""A table and its history stream (users and users_history: the same contact, transformed alike) transform and encode
a row once and frame it once per stream (widening.share_bodies): each stream's lines are still exactly the ones it
makes alone, record by record, with its own widened SCHEMA and its own warnings."""
import copy
import json
import logging

from test_page_streams import contact, one_by_one, read
from tap_intercom.catalog import discover, select
from tap_intercom.records.output import RecordLines
from tap_intercom.records.transform import RecordTransform
from tap_intercom.records.widening import StreamShape, share_bodies

HISTORY = {"users_history", "contacts_history"}


def catalog_with_history(deselect=None):
    """The default catalog with the contact history streams selected (and `deselect`: (stream, field))."""
    catalog = discover({"contact": {"seats": {"type": ["null", "integer"]}}})
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == [] and (entry["tap_stream_id"] in HISTORY
                                             or item["metadata"].get("selected-by-default")):
                item["metadata"]["selected"] = True
            if deselect and entry["tap_stream_id"] == deselect[0] and item["breadcrumb"] == ["properties", deselect[1]]:
                item["metadata"]["selected"] = False
    return catalog


def pages():
    first = [contact(1, "user", ["t1"], 1750000000), contact(2, "lead", ["t2"], 1750000001),
             {**contact(3, "user", [], 1750000002), "brand_new_field": "x"},  # widens both streams' schemas
             {**contact(4, "user", [], 1750000003), "custom_attributes": {"seats": "many"}},  # nulled, with a warning
             {**contact(6, "user", [], 1750000004), "custom_attributes": {"seats": "few"}},  # nulled, warned already
             {**contact(7, "user", [], 1750000005), "owner_id": True},  # the slow path (a boolean for an integer)
             contact(1, "user", ["t4"], 1750000006)]  # the first contact again, changed
    second = [contact(5, "user", ["t6"], 1750000007), {**contact(2, "lead", ["t8"], 1750000008), "brand_new_field": 3}]
    return [first, second]


def test_a_history_stream_writes_the_lines_it_writes_alone(tmp_path, make_emulator, caplog):
    emulator = make_emulator(seed=3, contacts=0, companies=0, conversations=0)
    catalog = catalog_with_history()
    caplog.set_level(logging.WARNING, logger="tap_intercom")
    lines = []
    written, selections = read(tmp_path, emulator.url, pages(), catalog, lines)
    warned = [r.getMessage() for r in caplog.records if "does not fit its declared type" in r.getMessage()]
    assert HISTORY <= set(written)
    expected = one_by_one(selections, pages())
    for name, records in expected.items():
        assert written.get(name, []) == records, name
    for name in ("users", "users_history", "contacts", "contacts_history"):  # each widened, before its first row
        schemas = [json.loads(line) for line in lines if line.startswith(b'{"type":"SCHEMA"')
                   and json.loads(line)["stream"] == name]
        assert "brand_new_field" in schemas[-1]["schema"]["properties"], name
    assert sorted(message.split(".")[0] for message in warned) == ["users", "users_history"]
    assert [r["custom_attributes"]["seats"] for r in written["users_history"] if r["id"].endswith(("4", "6"))] \
        == [None, None]


def test_a_row_is_transformed_once_for_both_streams(monkeypatch):
    catalog = catalog_with_history()
    selections = {s.stream.name: s for s in select(catalog) if s.stream.name in ("users", "users_history")}
    shapes = {name: StreamShape(s, RecordTransform(name, s.schema, s.fields, s.metadata)) for name, s in selections.items()}
    assert len(share_bodies(shapes.values())) == 1
    made = []
    real = RecordTransform.for_keys

    def counted(self, keys):
        fast = real(self, keys)

        def counting(row, whole=None):
            made.append(self.stream_name)
            return fast(row, whole)
        return counting
    monkeypatch.setattr(RecordTransform, "for_keys", counted)
    rows = [selections["users"].stream.rows(copy.deepcopy(record), None)[0]
            for record in pages()[0] if record["role"] == "user" and "brand_new_field" not in record]
    out = {name: [] for name in shapes}
    for name, shape in shapes.items():
        shape.emit(rows, out[name], RecordLines(name), b"2026-12-07T00:00:00.000000Z")
    # users_history transforms only the rows whose first transform warned (contact 4) or took the slow path
    # (contact 7, which the counter does not see: the fast path raised before it returned)
    assert made.count("users") == len(rows) and made.count("users_history") == 1
    bodies = {name: [json.loads(line)["record"] for line in lines] for name, lines in out.items()}
    assert bodies["users"] == bodies["users_history"]


def test_streams_transformed_otherwise_do_not_share():
    catalog = catalog_with_history(deselect=("users_history", "email"))
    shapes = [StreamShape(s, RecordTransform(s.stream.name, s.schema, s.fields, s.metadata))
              for s in select(catalog) if s.stream.source.name == "contacts"]
    assert [sorted(s.stream.name for s in shapes if s.bodies is bodies) for bodies in share_bodies(shapes)] \
        == [["contacts", "contacts_history"]]
