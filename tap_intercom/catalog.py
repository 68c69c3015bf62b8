"""Discovery (the catalog of streams, schemas and metadata) and reading a user's catalog back."""
import json
from dataclasses import dataclass
from pathlib import Path

from tap_intercom.reading import reporting
from tap_intercom.records.custom_attributes import typed
from tap_intercom.errors import ConfigError
from tap_intercom.sampling import declare
from tap_intercom.streams import STREAMS, STREAMS_BY_NAME, Source, Stream


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
            name for name in schema["properties"]
            if name in automatic or not (meta.get(("properties", name), {}).get("selected") is False
                                         or meta.get(("properties", name), {}).get("inclusion") == "unsupported"))
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
    key = tuple(entry.get("key_properties") or top.get("table-key-properties") or (reporting.HASH_KEY,))
    replication_key = entry.get("replication_key") or (top.get("valid-replication-keys") or [None])[0]
    # The source's path holds the dataset id: what enqueue asks for.
    return Stream(name, None, key, Source(name, dataset, "", reporting.STYLE, cursor=replication_key or ""),
                  replication_key, description=f"Intercom's Reporting Data Export dataset {dataset}.")
