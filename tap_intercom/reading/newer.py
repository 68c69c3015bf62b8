"""Sources that Intercom serves only from a later Intercom-Version than the configured one (2.14 to 2.16):
calls, macros, internal articles, away status reasons, office hours, conversation attributes, custom object
instances, conversation handling events and contacts' merge history.

A Source (or a stream of a shared source) names the version it needs (`version="2.16"`); its calls alone are
sent with that version, the rest of the run keeps `api_version` (as deleted_conversations.py does). Where
Intercom refuses the call (400 "not available", 403, or a 404 for the version) the engine skips the stream
with one warning (sync.py `_forbidden`); a per-record fetch that is refused says so once and yields nothing
rather than owing a fetch per record.
"""
import logging
import threading
import time
from functools import partial
from urllib.parse import quote

from tap_intercom.reading import pagers
from tap_intercom.errors import ApiError
from tap_intercom.records.timestamps import cursor_epoch

LOGGER = logging.getLogger("tap_intercom")

CALLS_PAGE_SIZE = 25  # GET /calls: "Max 25"
MACROS_PAGE_SIZE = 50
CUSTOM_OBJECTS_PAGE_SIZE = 50


def _rank(version):
    """Orders Intercom-Version values; Unstable and Preview are ahead of every number."""
    major, _, minor = str(version).partition(".")
    if major.isdigit() and minor.isdigit():
        return int(major), int(minor)
    return 99, 0 if str(version) == "Unstable" else 1


def needed(configured, wanted):
    """The version a call is sent with: the configured one unless it is older than the endpoint's."""
    if not wanted or _rank(configured) >= _rank(wanted):
        return None
    return wanted


class OnCall:
    """The client, with another Intercom-Version on every call made through it, and query parameters added to
    the calls of one path (a search the selected streams need more of, e.g. include_merge_history). Everything
    else (limiter, clock) is the client's own. `config` is there for sources that read a setting."""

    def __init__(self, client, config, version=None, params=None, path=None):
        self._client, self.config = client, config
        self.version, self.params, self.path = version, params or {}, path

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get(self, path, params=None, endpoint=None, replayable=True, version=None):
        return self.request("GET", path, params=params, endpoint=endpoint, replayable=replayable, version=version)

    def post(self, path, body, endpoint=None):
        return self.request("POST", path, body=body, endpoint=endpoint)

    def request(self, method, path, params=None, body=None, endpoint=None, replayable=True, version=None):
        if self.params and path == self.path:
            params = {**(params or {}), **self.params}
        return self._client.request(method, path, params=params, body=body, endpoint=endpoint or path,
                                    replayable=replayable, version=version or self.version)


def source_client(client, config, source, streams):
    """The client a source's pages are read with: the newest version its selected streams need, and their
    extra parameters on the source's own path."""
    versions = [v for v in [getattr(source, "version", None)] + [getattr(s, "version", None) for s in streams] if v]
    wanted = max(versions, key=_rank) if versions else None
    params = {}
    for stream in streams:
        params.update(getattr(stream, "search_params", None) or {})
    return OnCall(client, config, needed(config.api_version, wanted), params, source.path)


# ---- macros: newest first by updated_at, `updated_since`, a cursor --------------------------------------

def macro_pages(client, since, source):
    """GET /macros?updated_since=: newest first, so the first page holds the highest updated_at. The engine
    moves the stream's bookmark only once the source is read to the end (a page carries no bookmark), so a run
    killed mid-way reads the whole window again rather than skipping its older part."""
    params = {"updated_since": since - 1} if since is not None else {}  # "after this time": include `since`
    yield from pagers.listing_pages(client, source.path, "data", {**params, "per_page": MACROS_PAGE_SIZE})


# ---- custom object instances: one page list per configured type -----------------------------------------

_said_empty = set()


def custom_object_pages(client, _since, source):
    types = getattr(client.config, "custom_object_types", None) or []
    if not types:
        if source.path not in _said_empty:
            _said_empty.add(source.path)
            LOGGER.info("custom_object_instances: no custom_object_types configured, nothing to read (the API "
                        "cannot list the types: name them in the setting)")
        return
    for name in types:
        path = f"{source.path}/{quote(name, safe='')}"
        for page in pagers.numbered_pages(client, path, "data", CUSTOM_OBJECTS_PAGE_SIZE,
                                          endpoint=f"{source.path}/{{type}}"):
            yield [{**record, "type": record.get("type") or name} for record in page if isinstance(record, dict)]


# ---- conversation handling events: a child of the conversation search ------------------------------------

HANDLING_VERSION = "2.16"
_refusal = {"said": False, "lock": threading.Lock()}


class Refused:
    """A fetch Intercom refuses for every record (scope, version): no rows, nothing owed."""


def handling_event_fetches(conversation, _fields):
    return {"handling_events": partial(fetch_handling_events, str(conversation["id"]))}


def fetch_handling_events(conversation_id, client):
    # A failure (a 404 too: the conversation may be deleted, which owed.py confirms) owes the fetch.
    try:
        return client.get(f"/conversations/{conversation_id}/handling_events",
                          endpoint="/conversations/{id}/handling_events",
                          version=needed(client.headers.get("Intercom-Version", ""), HANDLING_VERSION))
    except ApiError as exc:
        status = exc.status
        if status == 403 or (status == 400 and "not available" in str(exc)):
            with _refusal["lock"]:
                if not _refusal["said"]:
                    _refusal["said"] = True
                    LOGGER.warning("skipping conversation_handling_events: %s", exc)
            client.skipped.add("conversation_handling_events")
            return Refused
        raise


def handling_event_rows(conversation, fetched):
    listing = (fetched or {}).get("handling_events")
    if not isinstance(listing, dict):
        return ()
    parent = {"conversation_id": str(conversation["id"]), "conversation_updated_at": conversation.get("updated_at")}
    rows = []
    for event in listing.get("handling_events") or []:
        if isinstance(event, dict):
            teammate = event.get("teammate") if isinstance(event.get("teammate"), dict) else {}
            teammate_id = teammate.get("id")
            rows.append({**event, **parent, "teammate_id": str(teammate_id) if teammate_id is not None else ""})
    return rows


# ---- contact merges: merge_history on each user of the contact search (2.16) -----------------------------

def merge_rows(contact, _fetched):
    """One row per contact merged into this user (`merge_history`, sent with include_merge_history=true)."""
    rows = []
    for item in contact.get("merge_history") or []:
        if isinstance(item, dict) and item.get("source_contact_id") is not None:
            rows.append({"id": str(item["source_contact_id"]), "merged_into_id": str(contact["id"]),
                         "role": item.get("source_contact_role"), "merged_at": item.get("merged_at"),
                         "merged_into_updated_at": contact.get("updated_at")})
    return rows


def merged(exc, contact_id, what):
    """Whether an error is Intercom's 410 Gone for a merged contact (2.16; a `Link` header names the contact it
    was merged into): the contact lives on as that one, so nothing is owed for it."""
    if getattr(exc, "status", None) != 410:
        return False
    LOGGER.info("contact %s was merged into another contact (410 Gone): %s is not owed", contact_id, what)
    return True


# ---- call transcripts: POST /calls/search, 20 conversations a call (2.14) -----------------------------------

TRANSCRIPT_BATCH = 20  # "A maximum of 20 conversation_ids"
PENDING = {"pending", "queued", "processing", "in_progress"}  # a transcript still being made: asked again
GIVE_UP_SECONDS = 7 * 86400  # a transcript still pending a week after its call no longer holds the bookmark


class Watermark(list):
    """The last page of a read: no records, and the bookmark the read makes safe (as a search window's page)."""

    def __init__(self, safe):
        super().__init__()
        self.safe = safe


def transcript_pages(client, since, source):
    """Transcripts of the calls made since the bookmark, then a page carrying the new bookmark.

    GET /calls has no filter: every run lists every call (25 a page) and asks POST /calls/search for the
    conversations of the calls at or after the bookmark (created_at), 20 conversations a call. The bookmark
    is a watermark: the creation time of the oldest call whose transcript is still pending (it is asked again
    next run), else of the newest call; a call pending for over a week stops holding it back (a warning). One
    number, whatever the number of calls, is what STATE keeps of which transcripts are settled."""
    calls = [call for page in pagers.numbered_pages(client, "/calls", "data", CALLS_PAGE_SIZE, endpoint="/calls")
             for call in page if isinstance(call, dict) and call.get("id") is not None]
    created_raw = {str(call["id"]): call.get("created_at") for call in calls}
    created = {call_id: cursor_epoch(value) for call_id, value in created_raw.items()}
    wanted = {str(call["id"]) for call in calls if call.get("conversation_id")
              and (created[str(call["id"])] is None or created[str(call["id"])] >= since)}
    conversations = sorted({str(call["conversation_id"]) for call in calls if str(call["id"]) in wanted})
    now = client.clock.to_server(time.time())
    pending = []
    for start in range(0, len(conversations), TRANSCRIPT_BATCH):
        body = {"conversation_ids": conversations[start:start + TRANSCRIPT_BATCH]}
        response = client.post(source.path, body, endpoint=source.path)
        rows = []
        for call in response.get(source.envelope) or []:
            call_id = str(call.get("id")) if isinstance(call, dict) else None
            if call_id not in wanted:
                continue
            status = call.get("transcript_status")
            at = created.get(call_id)
            if status in PENDING and at is not None:
                if at >= now - GIVE_UP_SECONDS:
                    pending.append(at)
                else:
                    LOGGER.warning("call_transcripts: the transcript of call %s is still %s a week after the call; "
                                   "no longer waiting for it", call_id, status)
            rows.append({"call_id": call_id, "conversation_id": str(call.get("conversation_id")),
                         "transcript": call.get("transcript"), "transcript_status": status,
                         "call_created_at": call.get("created_at") if call.get("created_at") is not None
                         else created_raw.get(call_id)})  # the spec's example sends none: null then
        yield rows
    known = [at for call_id, at in created.items() if at is not None and call_id in wanted]
    mark = min(pending) if pending else max(known, default=None)
    if mark is not None:
        yield Watermark(mark)
