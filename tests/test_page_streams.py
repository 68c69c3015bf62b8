"""A page's records are written stream by stream (the engine's flush): each stream's lines are the ones the general way
makes of its rows record by record (the rows hook, the transform, the encoder), in record order, whichever way a
record's lines are written (a link writer or, for what it cannot write exactly, the general way), duplicates of one
contact in one page included: the newer copy's rows come last, so a target keeps them."""
import copy
import json

from conftest import tap_config, write_json
from tap_intercom.catalog import discover, select
from tap_intercom.config import load_config
from tap_intercom.engine import sync
from tap_intercom.http.concurrency import FetchPool
from tap_intercom.reading import windows
from tap_intercom.records.output import RecordLines
from tap_intercom.records.transform import RecordTransform
from tap_intercom.records.widening import StreamShape
from tap_intercom.state import State
from tap_intercom.streams import STREAMS

EXTRACTED = b"2026-12-07T00:00:00.000000Z"


def contact(number, role, tags, updated_at):
    ident = f"{number:024x}"
    return {"type": "contact", "id": ident, "role": role, "email": f"c{number}@example.com", "name": f"C {number}",
            "created_at": 1700000000, "updated_at": updated_at, "custom_attributes": {},
            "social_profiles": {"type": "list", "data": [{"type": "social_profile", "name": "Twitter",
                                                          "url": f"https://twitter.com/c{number}"}]},
            "tags": {"type": "list", "data": [{"type": "tag", "id": tag, "url": f"/tags/{tag}"} for tag in tags],
                     "url": f"/contacts/{ident}/tags", "total_count": len(tags), "has_more": False},
            "companies": {"type": "list", "data": [{"type": "company", "id": f"co{number}",
                                                   "url": f"/companies/co{number}"}],
                          "url": f"/contacts/{ident}/companies", "total_count": 1, "has_more": False}}


def read(tmp_path, url, pages, catalog=None, lines_out=None):
    """Each stream's records as the engine writes them from these search pages, in order (and its lines, into
    `lines_out`)."""
    config = load_config(write_json(tmp_path, "config.json", tap_config(url)))
    selections = [s for s in select(catalog or discover()) if s.stream.source.name == "contacts"]
    state = State.parse(None, {s.name for s in STREAMS if s.replication_key}, {s.name for s in STREAMS})
    engine = sync.Engine(config, selections, state)
    engine.pool = FetchPool(2, thread_name_prefix="fetch", initializer=engine.client.per_record_thread)
    partitioned = windows.partitioned
    windows.partitioned = lambda *_a, **_k: iter([windows.Page(copy.deepcopy(page), None) for page in pages])
    try:
        lines = [line for batch in engine._read_source(engine.groups[0]) for line in batch.lines]
    finally:
        windows.partitioned = partitioned
        engine.pool.shutdown()
    if lines_out is not None:
        lines_out += lines
    written = {}
    for line in lines:
        message = json.loads(line)
        if message["type"] == "RECORD":
            written.setdefault(message["stream"], []).append(message["record"])
    return written, selections


def one_by_one(selections, pages):
    """Each stream's records the general way, record by record, in record order."""
    expected = {}
    for selection in selections:
        name, role = selection.stream.name, selection.stream.role
        shape = StreamShape(selection, RecordTransform(name, selection.schema, selection.fields, selection.metadata))
        out = []
        for record in (copy.deepcopy(record) for page in pages for record in page):
            if role is None or record["role"] == role:
                rows = selection.stream.rows(record, None) if selection.stream.rows else (record,)
                shape.emit(rows, out, RecordLines(name), EXTRACTED)
        expected[name] = [json.loads(line)["record"] for line in out if line.startswith(b'{"type":"RECORD"')]
    return expected


def test_each_streams_lines_are_the_record_by_record_ones_in_record_order(tmp_path, make_emulator):
    emulator = make_emulator(seed=3, contacts=0, companies=0, conversations=0)
    first = [contact(1, "user", ["t1"], 1750000000), contact(2, "lead", ["t2", "t3"], 1750000001),
             contact(4, "lead", ["t5"], "2025-06-15T14:13:24Z"),  # a stamp the link writer leaves to the general way
             contact(3, "user", [], 1750000002),
             contact(1, "user", ["t4"], 1750000003)]  # the first contact again, changed while the search was read
    second = [contact(5, "user", ["t6", "t7"], 1750000004), contact(2, "lead", ["t8"], 1750000005)]
    written, selections = read(tmp_path, emulator.url, [first, second])
    expected = one_by_one(selections, [first, second])
    assert {name for name, records in expected.items() if records} == set(written)
    for name, records in expected.items():
        assert written.get(name, []) == records, name
    tags = [(row["contact_id"][-1], row["tag_id"]) for row in written["contact_tags"]]
    assert tags == [("1", "t1"), ("2", "t2"), ("2", "t3"), ("4", "t5"), ("1", "t4"), ("5", "t6"), ("5", "t7"),
                    ("2", "t8")]
