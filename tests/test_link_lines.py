"""Link rows written straight from their parent record (links.Link.lines) are byte for byte the lines the general
way makes of the same rows (the rows hook, the transform, the encoder), for any record: what the writer cannot
write exactly it leaves to the general way."""
import copy

from hypothesis import given, settings, strategies as st

from tap_intercom.catalog import discover, select
from tap_intercom.records import links
from tap_intercom.records.output import RecordLines
from tap_intercom.records.transform import RecordTransform
from tap_intercom.records.widening import StreamShape

EXTRACTED = b"2026-12-07T00:00:00.000000Z"
WRITTEN = ("contact_tags", "contact_companies", "conversation_teammates")


def selections(deselect=()):
    catalog = discover()
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] and item["breadcrumb"][1] in deselect:
                item["metadata"]["selected"] = False
    return {s.stream.name: s for s in select(catalog)}


def general(selection, records):
    """The lines (or the error) the rows hook, transform and encoder make of each record."""
    name = selection.stream.name
    shape = StreamShape(selection, RecordTransform(name, selection.schema, selection.fields, selection.metadata))
    encoder, out = RecordLines(name, 3), []
    for record in records:
        try:
            errors = shape.emit(selection.stream.rows(copy.deepcopy(record), None), out, encoder, EXTRACTED)
            out += [str(error) for error in errors]
        except Exception as exc:  # noqa: BLE001 - the same failure either way
            out.append(repr(exc))
    return out


def written(selection, records):
    """The same through the writer, the general way for the records it leaves; and how many it wrote itself."""
    name = selection.stream.name
    shape = StreamShape(selection, RecordTransform(name, selection.schema, selection.fields, selection.metadata))
    encoder, out, direct = RecordLines(name, 3), [], 0
    write = selection.stream.rows.lines(selection.schema, frozenset(selection.fields), encoder)
    assert write is not None
    for record in records:
        try:
            if write(copy.deepcopy(record), None, out, EXTRACTED) is not None:
                direct += 1
                continue
            errors = shape.emit(selection.stream.rows(copy.deepcopy(record), None), out, encoder, EXTRACTED)
            out += [str(error) for error in errors]
        except Exception as exc:  # noqa: BLE001
            out.append(repr(exc))
    return out, direct


ids = st.one_of(st.text(max_size=6), st.sampled_from(["7000026", "a\ud800", 'q"\\', "é", ""]),
                st.integers(-5, 10 ** 20), st.none(), st.booleans(), st.floats(allow_nan=False))
items = st.one_of(st.fixed_dictionaries({"id": ids}, optional={"type": st.just("tag")}), ids,
                  st.just({"type": "tag"}))
stamps = st.one_of(st.integers(-10, 2 * 10 ** 12), st.none(), st.booleans(), st.sampled_from(
    ["2024-05-01T09:30:00Z", "1714555800", "", "soon"]), st.floats(0, 2e9, allow_nan=False))


def parents(list_name, inner):
    listed = st.one_of(st.lists(items, max_size=5).map(lambda found: {"type": "list", inner: found}),
                       st.lists(items, max_size=3), st.none(), st.just({"type": "list"}))
    return st.fixed_dictionaries({"id": st.one_of(st.just("6945762d7f52bbef0e0006f2"), ids.filter(
        lambda value: value is not None)), "updated_at": stamps, list_name: listed})


@settings(max_examples=300, deadline=None)
@given(st.lists(parents("tags", "data"), max_size=6), st.lists(parents("companies", "data"), max_size=6),
       st.lists(parents("teammates", "admins"), max_size=6))
def test_written_lines_are_the_general_ways_lines(tags, companies, teammates):
    chosen = selections()
    for name, records in zip(WRITTEN, (tags, companies, teammates)):
        assert written(chosen[name], records)[0] == general(chosen[name], records), name


def test_plain_records_are_written_directly_and_odd_ones_the_general_way():
    chosen = selections()["contact_tags"]
    plain = {"id": "c1", "updated_at": 1714555800, "tags": {"type": "list", "data": [
        {"type": "tag", "id": "7"}, {"type": "tag", "id": 8}, {"type": "tag", "id": "7"}, {"type": "tag"}]}}
    odd = [dict(plain, updated_at="2024-05-01T09:30:00Z"), dict(plain, updated_at=1714555800000),
           dict(plain, tags={"data": [{"id": "a\ud800"}]}), dict(plain, id="c\ud800")]
    out, direct = written(chosen, [plain, *odd])
    assert direct == 1 and out == general(chosen, [plain, *odd])
    assert out[:2] == [b'{"type":"RECORD","stream":"contact_tags","version":3,"record":{"contact_id":"c1","tag_id":'
                       b'"%s","contact_updated_at":"2024-05-01T09:30:00.000000Z"},"time_extracted":"2026-12-07T00:'
                       b'00:00.000000Z"}\n' % tag for tag in (b"7", b"8")]


def test_a_deselected_stamp_is_left_out_and_kept_fields_or_other_types_keep_the_general_way():
    record = {"id": "c1", "updated_at": 1714555800, "tags": {"data": [{"id": "7"}]}}
    assert links.contact_tag_rows.lines({"properties": {}}, frozenset(), RecordLines("x")) is None
    chosen = selections()
    assert chosen["company_tags"].stream.rows.lines(chosen["company_tags"].schema,
                                                     frozenset(chosen["company_tags"].fields), RecordLines("x")) is None
    schema = copy.deepcopy(chosen["contact_tags"].schema)
    schema["properties"]["tag_id"] = {"type": ["null", "integer"]}
    assert links.contact_tag_rows.lines(schema, frozenset(schema["properties"]), RecordLines("x")) is None
    fields = frozenset({"contact_id", "tag_id"})  # as if the catalog dropped the stamp
    out = []
    write = links.contact_tag_rows.lines(chosen["contact_tags"].schema, fields, RecordLines("contact_tags"))
    assert write(record, None, out, EXTRACTED) == 1
    assert out[0].split(b'"record":')[1].startswith(b'{"contact_id":"c1","tag_id":"7"},')


texts = st.one_of(st.text(max_size=5), st.sampled_from(["Twitter", "http://twitter.com/a", 'q"\\', "a\ud800", "é"]))
profiles = st.one_of(
    st.fixed_dictionaries({"type": st.just("social_profile"), "name": st.sampled_from(["Twitter", "GitHub"]),
                           "url": st.sampled_from(["http://a", "http://b"])}),
    st.fixed_dictionaries({}, optional={"type": st.one_of(texts, st.none()), "name": st.one_of(texts, st.none(),
                                                                                                 st.integers()),
                                        "url": texts, "username": texts, "contact_id": texts, "id": ids}),
    st.just("not an object"))
contacts = st.fixed_dictionaries({"id": st.one_of(st.just("6945762d7f52bbef0e0006f2"), ids.filter(
    lambda value: value is not None)), "updated_at": stamps, "social_profiles": st.one_of(
    st.lists(profiles, max_size=4).map(lambda found: {"type": "list", "data": found}), st.none(),
    st.lists(profiles, max_size=2), st.just({"type": "list"}))})


@settings(max_examples=400, deadline=None)
@given(st.lists(contacts, max_size=6))
def test_written_social_profiles_are_the_general_ways_lines(records):
    chosen = selections()["social_profiles"]
    assert written(chosen, records)[0] == general(chosen, records)


def test_plain_social_profiles_are_written_directly():
    chosen = selections()["social_profiles"]
    plain = {"id": "c1", "updated_at": 1714555800, "social_profiles": {"type": "list", "data": [
        {"type": "social_profile", "name": "Twitter", "url": "http://twitter.com/a"},
        {"type": "social_profile", "name": "GitHub"}]}}  # no url: no row
    twice = {**plain, "social_profiles": {"data": [plain["social_profiles"]["data"][0]] * 2}}
    odd = [twice, {**plain, "social_profiles": {"data": [{"name": "X", "url": "u", "username": "new"}]}},
           {**plain, "updated_at": "2024-05-01T09:30:00Z"}, {**plain, "social_profiles": {"data": [
               {"type": None, "name": "X", "url": "u"}]}}]
    out, direct = written(chosen, [plain, *odd])
    assert direct == 1 and out == general(chosen, [plain, *odd])
    assert out[0] == (b'{"type":"RECORD","stream":"social_profiles","version":3,"record":{"type":"social_profile",'
                      b'"name":"Twitter","url":"http://twitter.com/a","contact_id":"c1","contact_updated_at":'
                      b'"2024-05-01T09:30:00.000000Z"},"time_extracted":"2026-12-07T00:00:00.000000Z"}\n')
