"""Discovery reads the workspace: the first page of each stream's source, so the catalog declares what
Intercom sends beyond the bundled schemas.

Intercom adds fields without a new version and the spec lags the API (API-NOTES section 10), so a catalog
built from the bundled schemas alone misses what the workspace really holds. Each source is asked the first
request a sync makes, with a small page (SAMPLE_SIZE), and every top-level field seen with a value is
declared, typed from its values (widening.py's rules); nested keys need no declaring (transform.py keeps
them). A stream made from per-record fetches (conversation and ticket parts) costs one fetch more. Two
exceptions: the company scroll is sampled with `GET /companies` (a scroll opened here would hold Intercom's
one scroll per app for a minute, and the sync's own scroll would wait for it), and a source of a style not
listed in SAMPLED (a reporting export, say) is not sampled at all. A failed sample (403, 404, 5xx after a
retry, a timeout) is a warning and its streams keep their bundled schemas; an unreachable API or a refused
token stops sampling: the bundled schemas stand, as offline.

A Reporting Data Export dataset is sampled by one export job of its last REPORT_SAMPLE_DAYS (sample_reports):
the file shows which attributes come under a display name (custom attributes: text), which `*_raw_id` columns
come beside names, and whether every cell of a time or number column holds one exactly (if not: text).
"""
import concurrent.futures
import dataclasses
import logging
import time

from tap_intercom.reading import newer, pagers
from tap_intercom.records import custom_attributes
from tap_intercom.errors import TapError
from tap_intercom.records.widening import json_type, wider

LOGGER = logging.getLogger("tap_intercom")

SAMPLE_SIZE = 20  # records per sampled search page; listings and paged lists answer their usual first page
COMPANY_LIST = "/companies"  # the scroll's stand-in (see above)
SAMPLED = {"listing", "pages", "search", "scroll", "window", "newest_first"}
REPORT_SAMPLE_DAYS = 7  # the window of a report's sample job: recent rows, a small file
REPORT_SAMPLE_WAIT = 300  # seconds discovery waits for its sample jobs, all datasets together (5 at a time)


def discovery_client(config):
    """Discovery should not wait minutes on an unreachable API: one retry, a short timeout."""
    from tap_intercom.http.client import IntercomClient  # discovery without the API needs no HTTP machinery

    return IntercomClient(dataclasses.replace(config, max_retries=1, request_timeout=min(config.request_timeout, 20)))


def read_types(client):
    """{model: {attribute name: JSON schema}} for the models whose data attributes could be read (archived
    ones included: old records still carry them). An unreachable API or a refused call leaves a model out:
    its custom attributes stay free-form."""
    types = {}
    for model in custom_attributes.MODELS.values():
        try:
            listing = client.get("/data_attributes", {"model": model, "include_archived": "true"})
        except TapError as exc:
            LOGGER.warning("discovery: %s custom attributes stay untyped: %s", model, exc)
            if getattr(exc, "status", None) in (None, 401):  # no answer, or the token refused: so for all
                break
            continue
        types[model] = custom_attributes.declared(listing.get("data") if isinstance(listing, dict) else None)
    return types


def sample(client, config, streams):
    """{stream name: {field: JSON type}} of the top-level fields the first page of each stream's source
    carries with a value (only the streams whose sample was read)."""
    groups = {}
    for stream in streams:
        if stream.source.style in SAMPLED:
            groups.setdefault(stream.source.name, []).append(stream)
    groups = list(groups.values())
    if not groups:
        return {}
    found, first = {}, _read(client, config, groups[0])
    if first is None:  # no answer, or the token refused: the same for every source
        return {}
    found.update(first)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="sample") as pool:
        for result in pool.map(lambda group: _read(client, config, group), groups[1:]):
            found.update(result or {})
    return found


def _read(client, config, group):
    """{stream: {field: type}} for one source's streams; {} when its sample failed, None when the API
    cannot be reached at all."""
    source, names = group[0].source, ", ".join(stream.name for stream in group)
    client = newer.source_client(client, config, source, group)  # the version and parameters a sync sends
    try:
        records = _first_page(client, config, source)
        return {stream.name: _fields(_rows(client, stream, records)) for stream in group}
    except TapError as exc:
        status = getattr(exc, "status", None)
        if status in (None, 401):
            LOGGER.warning("discovery: the API could not be sampled (%s); the bundled schemas stand", exc)
            return None
        LOGGER.warning("discovery: %s not sampled (%s); bundled schema kept", names, exc)
        return {}


def _first_page(client, config, source):
    if source.style == "scroll":
        pages = pagers.numbered_pages(client, COMPANY_LIST, source.envelope, SAMPLE_SIZE)
    else:
        pages = source.pages(client, config.start_date, SAMPLE_SIZE, None, until=int(time.time()))
    try:
        return [record for record in next(iter(pages), []) if isinstance(record, dict)]
    finally:
        pages.close()  # the first page only


def _rows(client, stream, records):
    """The stream's rows made from the sampled records; a stream that needs per-record fetches (the parts of
    a conversation) fetches them for the first record only. Nothing is selected, so no optional list is
    completed (contacts' tags, companies and notes)."""
    rows = []
    for index, record in enumerate(r for r in records if stream.role is None or r.get("role") == stream.role):
        if not stream.rows:
            rows.append(record)
            continue
        fetched = {name: fetch(client) for name, fetch in stream.fetches(record, frozenset()).items()} \
            if stream.fetches and index == 0 else None
        rows += stream.rows(dict(record), fetched)
    return rows


def _fields(rows):
    fields = {}
    for row in rows:
        for name, value in row.items():
            kind = json_type(value)
            if kind is not None:
                fields[name] = wider(fields.get(name), kind)
    return fields


def declare(schema, fields):
    """`schema` with the sampled fields it lacks declared (each nullable, of its sampled type)."""
    from tap_intercom.records.widening import property_schema

    new = {name: property_schema(kind) for name, kind in sorted(fields.items())
           if name not in schema["properties"]}
    return {**schema, "properties": {**schema["properties"], **new}} if new else schema


@dataclasses.dataclass
class ReportSample:
    """What one dataset's sample file showed: its header, and per header cell whether its cells hold numbers and
    times exactly (records/report_columns.CellCheck)."""
    header: list
    checks: list
    rows: int = 0


def sample_reports(client, config, datasets):
    """{dataset id: ReportSample} of the datasets whose sample job finished in time; the others are typed from
    get_datasets alone (a warning says so)."""
    from tap_intercom.reading import reporting

    if not datasets:
        return {}
    deadline = time.monotonic() + REPORT_SAMPLE_WAIT
    until = int(time.time())
    window = (until - REPORT_SAMPLE_DAYS * 86400, until)

    def one(dataset):
        ids = [str(a.get("qualified_id") or a["id"]) for a in dataset.get("attributes") or []
               if isinstance(a, dict) and a.get("id")]
        if not ids:
            return None
        try:
            found = _report_sample(client, config, reporting, dataset["id"], ids, window, deadline)
            if found is None:
                LOGGER.info("discovery: report_%s exported no rows in the last %d days; its columns are typed "
                            "from their names alone", dataset["id"], REPORT_SAMPLE_DAYS)
            return found
        except TapError as exc:
            if getattr(exc, "status", None) == 401:
                raise
            LOGGER.warning("discovery: report_%s not sampled (%s); its columns are typed from their names alone",
                           dataset["id"], exc)
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=reporting.MAX_PENDING,
                                               thread_name_prefix="report-sample") as pool:
        results = list(pool.map(one, datasets))
    return {dataset["id"]: result for dataset, result in zip(datasets, results) if result is not None}


def _report_sample(client, config, reporting, dataset_id, ids, window, deadline):
    import tempfile
    import zoneinfo

    from tap_intercom.reading.export_files import csv_files
    from tap_intercom.records.report_columns import CellCheck, to_utc

    zone = zoneinfo.ZoneInfo(config.workspace_timezone)
    with tempfile.TemporaryFile() as spool:
        reporting.export_once(client, config, dataset_id, ids, window, spool, deadline)
        sample = None
        for header, rows in csv_files(spool, f"report_{dataset_id}: the sample export"):
            if sample is None:
                sample = ReportSample(list(header), [CellCheck() for _ in header])
            if list(header) != sample.header:  # another member of a tar: the same columns, else left out
                continue
            for row in rows:
                sample.rows += 1
                for check, cell in zip(sample.checks, row):
                    check.see(cell, lambda text: to_utc(text, zone))
        return sample
