"""Discovery (the catalog of streams, schemas and metadata) and reading a user's catalog back.

Discovery is composed here: `discover_workspace` (--discover) reads the bundled schemas, types custom attributes
(records/custom_attributes.py), declares the fields a sample of each source shows (sampling.py), and adds a stream
per configured Reporting Data Export dataset (`report_entries`: get_datasets, one sample export each, the column
and key rules of records/report_columns.py). `default_catalog` is the catalog of a sync run without --catalog.
"""
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from tap_intercom.reading import reporting
from tap_intercom.records.custom_attributes import typed
from tap_intercom.records import report_columns
from tap_intercom.errors import ConfigError
from tap_intercom.sampling import declare
from tap_intercom.streams import STREAMS, STREAMS_BY_NAME, Source, Stream

LOGGER = logging.getLogger("tap_intercom")


# Installed, the top-level schemas/ folder ships as tap_intercom/schemas; in a source checkout it sits beside.
_HERE = Path(__file__).resolve().parent
SCHEMA_DIR = next((path for path in (_HERE / "schemas", _HERE.parent / "schemas") if path.is_dir()), _HERE)


def load_schema(name):
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8"))


def _metadata(stream, schema):
    automatic = stream.automatic
    top = {
        "table-key-properties": list(stream.key),
        "forced-replication-method": "INCREMENTAL" if stream.replication_key else "FULL_TABLE",
        "inclusion": "available",
        "selected-by-default": stream.selected_by_default,
    }
    if stream.replication_key:
        top["valid-replication-keys"] = [stream.replication_key]
    entries = [{"breadcrumb": [], "metadata": top}]
    for name in schema["properties"]:
        entries.append({"breadcrumb": ["properties", name],
                        "metadata": {"inclusion": "automatic" if name in automatic else "available",
                                     "selected-by-default": True}})
    return entries


def discover(custom_types=None, sampled=None):
    """The catalog; `custom_types` ({model: {attribute: schema}}, see custom_attributes.py) types the models'
    custom attributes; `sampled` ({stream: {field: type}}, see sampling.py) declares the fields the workspace
    sends beyond the bundled schemas."""
    streams = []
    for stream in STREAMS:
        schema = load_schema(stream.schema)
        if custom_types:
            schema = typed(stream.schema, schema, custom_types)
        if sampled and sampled.get(stream.name):
            schema = declare(schema, sampled[stream.name])
        entry = {
            "tap_stream_id": stream.name,
            "stream": stream.name,
            "key_properties": list(stream.key),
            "schema": schema,
            "metadata": _metadata(stream, schema),
        }
        if stream.replication_key:
            entry["replication_key"] = stream.replication_key
            entry["replication_method"] = "INCREMENTAL"
        else:
            entry["replication_method"] = "FULL_TABLE"
        streams.append(entry)
    return {"streams": streams}


def discover_workspace(config):
    """The catalog --discover prints: the bundled schemas widened by what the workspace sends, and the report
    streams of `reporting_datasets`, each sampled by one export job."""
    from tap_intercom.http.client import check_token
    from tap_intercom.sampling import discovery_client, read_types, sample

    client = discovery_client(config)
    check_token(client, unreachable_is_fatal=False)  # a 401 before anything is printed; unreachable: the bundled schemas stand
    types = read_types(client) if config.typed_custom_attributes else None
    catalog = discover(types, sample(client, config, STREAMS))
    catalog["streams"] += report_entries(client, config, sampled=True)
    return catalog


def default_catalog(config):
    """The catalog of a sync run without --catalog: the bundled schemas, and the report streams typed from
    get_datasets alone (no sample: the types of a table must not change from one such run to the next)."""
    catalog = discover()
    if config.reporting_datasets:
        from tap_intercom.sampling import discovery_client

        catalog["streams"] += report_entries(discovery_client(config), config, sampled=False)
    return catalog


# ---- report streams ---------------------------------------------------------------------------------------

def report_entries(client, config, sampled):
    """Catalog entries of the configured Reporting Data Export datasets (none when the setting is empty)."""
    if not config.reporting_datasets:
        return []
    from tap_intercom.sampling import sample_reports

    listed = reporting.datasets(client, config)
    samples = sample_reports(client, config, listed) if sampled else {}
    return [report_entry(dataset, samples.get(dataset["id"])) for dataset in listed]


def _attribute_columns(dataset):
    """[(column, attribute)]: named by attribute id; a repeated id (one name in two namespaces, as
    `people.Brand` and `conversation.Brand`) by its qualified id, else with a numeric suffix."""
    out, seen = [], set()
    for attribute in dataset.get("attributes") or []:
        if not isinstance(attribute, dict) or not attribute.get("id"):
            continue
        name = str(attribute["id"])
        if name in seen:
            name = str(attribute.get("qualified_id") or name)
        base, n = name, 2
        while name in seen:
            name, n = f"{base}__{n}", n + 1
        seen.add(name)
        out.append((name, {k: attribute[k] for k in ("id", "qualified_id", "name") if attribute.get(k) is not None}))
    return out


def report_entry(dataset, sample=None):
    """A report stream's catalog entry: columns typed by report_columns' rules (narrowed by the sample's cells),
    keyed by its rules (see docs/REPORTS.md)."""
    time_attribute = dataset.get("default_time_attribute_id")
    attributes = _attribute_columns(dataset)
    header = {}  # column -> (header cell, CellCheck) from the sample file
    extras = []  # columns the file has beside the attributes (`*_raw_id`)
    if sample is not None:
        for (column, attribute), cell, check in zip(report_columns.match_header(sample.header, attributes),
                                                    sample.header, sample.checks):
            header[column] = (cell, check)
            if attribute is None:
                extras.append(column)
    properties, own = {}, []
    for column, attribute in attributes:
        cell, check = header.get(column, (None, None))
        kind = report_columns.kind_by_name(attribute, time_attribute, cell)
        if check is not None and check.cells and ((kind == "number" and not check.numbers) or
                                                  (kind == "time" and not check.times)):
            LOGGER.info("discovery: report_%s.%s is text: its sample holds %r", dataset["id"], column,
                        check.example if kind == "number" else "a cell that is no time")
            kind = "text"
        properties[column] = report_columns.schema_of(kind)
        own.append((column, report_columns.is_own(attribute, cell)))
    for column in extras:
        properties[column] = report_columns.schema_of("text")
        own.append((column, report_columns.own_name(column)))
    time_column = next((column for column, attribute in attributes if attribute["id"] == time_attribute
                        and properties[column].get("format") == "date-time"), None)
    key, rule = report_columns.key_of(dataset["id"], own, time_column)
    if key == (report_columns.HASH_KEY,):
        properties = {report_columns.HASH_KEY: {"type": ["string"]}, **properties}
        LOGGER.warning("discovery: report_%s has no time or id column: its rows are keyed by a hash of the row "
                       "(a changed row is a new row)", dataset["id"])
    for column in key:
        properties[column] = {**properties[column], "type": [t for t in properties[column]["type"] if t != "null"]}
    name = reporting.PREFIX + dataset["id"]
    automatic = set(key) | ({time_column} if time_column else set())
    automatic |= {c[:-len("_raw_id")] + "_id" for c in key if c.endswith("_raw_id")}  # a raw id comes with its name
    top = {"table-key-properties": list(key), "forced-replication-method": "INCREMENTAL", "inclusion": "available",
           "selected-by-default": True, "intercom-dataset": dataset["id"],
           "intercom-time-attribute": time_attribute, "intercom-key-rule": rule}
    if time_column:
        top["valid-replication-keys"] = [time_column]
    metadata = [{"breadcrumb": [], "metadata": top}]
    by_column = dict(attributes)
    for column in properties:
        item = {"inclusion": "automatic" if column in automatic else "available", "selected-by-default": True}
        if column in by_column:
            item["intercom-attribute"] = by_column[column]
        metadata.append({"breadcrumb": ["properties", column], "metadata": item})
    entry = {"tap_stream_id": name, "stream": name, "key_properties": list(key),
             "schema": {"type": "object", "additionalProperties": False, "properties": properties},
             "metadata": metadata, "replication_method": "INCREMENTAL"}
    if time_column:
        entry["replication_key"] = time_column
    return entry


# ---- reading a catalog back -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """One selected stream: its schema (the catalog's) and the fields to emit."""
    stream: object
    schema: dict
    fields: frozenset
    metadata: dict  # breadcrumb tuple -> metadata, in singer's metadata.to_map form


def select(catalog):
    """The selected streams of a catalog, in the tap's stream order.

    A stream is selected when its metadata (or the legacy stream-level flag) says `selected: true`, and not
    when it says `selected: false`. A stream that says neither follows `selected-by-default` (true for every
    stream --discover prints) unless some stream of the catalog is explicitly selected: then only the
    explicitly selected ones are synced. A field is dropped when `selected: false`, unless automatic.
    """
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise ConfigError("catalog must be a JSON object with a \"streams\" list (the output of --discover)")
    entries = {}
    for entry in catalog["streams"]:
        if not isinstance(entry, dict):
            raise ConfigError("catalog: every item of \"streams\" must be an object")
        name = entry.get("tap_stream_id") or entry.get("stream")
        if not isinstance(name, str) or (name not in STREAMS_BY_NAME and not reporting.is_report(name)):
            raise ConfigError(f"catalog has a stream {name!r} that tap-intercom does not have: is it another "
                              "tap's catalog?")
        entries[name] = (entry, _metadata_map(entry))
    def flag(entry, meta):
        top = meta.get((), {})
        return top["selected"] if "selected" in top else entry.get("selected")

    explicit = any(flag(entry, meta) is True for entry, meta in entries.values())
    chosen = []
    reports = [_report_stream(*entries[name]) for name in entries if reporting.is_report(name)]
    for stream in STREAMS + reports:
        if stream.name not in entries:
            continue
        entry, meta = entries[stream.name]
        selected = flag(entry, meta)
        if selected is None:
            selected = not explicit and meta.get((), {}).get("selected-by-default", False)
        if not selected:
            continue
        schema = entry.get("schema") if isinstance(entry.get("schema"), dict) else load_schema(stream.schema)
        if not isinstance(schema.get("properties"), dict):
            raise ConfigError(f"catalog: the schema of {stream.name!r} has no properties")
        automatic = stream.automatic
        fields = frozenset(
            name for name in schema["properties"] if name not in stream.omits
            and (name in automatic or not (meta.get(("properties", name), {}).get("selected") is False
                                          or meta.get(("properties", name), {}).get("inclusion") == "unsupported")))
        chosen.append(Selection(stream, schema, fields, meta))
    return chosen


def _metadata_map(entry):
    result = {}
    for item in entry.get("metadata") or []:
        breadcrumb = item.get("breadcrumb") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict) or not all(
                isinstance(part, str) for part in breadcrumb or ()):
            raise ConfigError(f"catalog: a metadata entry of {entry.get('tap_stream_id')!r} is not "
                              "{\"breadcrumb\": [...], \"metadata\": {...}}")
        result[tuple(breadcrumb or ())] = item["metadata"]
    return result


def _report_stream(entry, meta):
    """The Stream of a report's catalog entry (streams.py's declaration, made from the catalog)."""
    name = entry.get("tap_stream_id") or entry.get("stream")
    if not isinstance(entry.get("schema"), dict):
        raise ConfigError(f"catalog: the report stream {name!r} has no schema (rediscover it with --discover)")
    top = meta.get((), {})
    dataset = top.get("intercom-dataset") or name[len(reporting.PREFIX):]
    key = tuple(entry.get("key_properties") or top.get("table-key-properties") or (report_columns.HASH_KEY,))
    replication_key = entry.get("replication_key") or (top.get("valid-replication-keys") or [None])[0]
    # The source's path holds the dataset id: what enqueue asks for.
    return Stream(name, None, key, Source(name, dataset, "", reporting.STYLE, cursor=replication_key or ""),
                  replication_key, description=f"Intercom's Reporting Data Export dataset {dataset}.")
