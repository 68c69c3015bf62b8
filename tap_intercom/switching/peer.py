"""Switching from singer-io/tap-intercom (Meltano's `singer-io` variant, Stitch): its catalog and state, mapped.

The peer's `contacts` stream is every contact; here `contacts` is leads and `users` is users. A peer catalog
run as is would silently drop every user, and the peer's state names bookmarks this tap reads differently.
Both are recognised by shapes only the peer writes and mapped once, at startup, with one log line each.
"""
import logging

from tap_intercom.config import parse_datetime
from tap_intercom.errors import ConfigError
from tap_intercom.records.timestamps import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")

PEER = "singer-io/tap-intercom"
MARK = "tap"  # top-level key of the state this tap writes: who wrote the bookmarks (see peer_state)
OURS = "tap-intercom"
CONTACTS_AS = ("users", "contacts")  # the peer's contacts are our users and our leads
OUR_ONLY_STREAMS = {"users", "social_profiles"}
# Fields our contact schema has had from the start and the peer's never had: a contacts entry without all of
# them (and without our `selected-by-default`) was written by the peer.
OUR_CONTACT_FIELDS = {"formatted_phone", "merge_history", "utm_source", "opted_in_subscription_types"}
PEER_BOOKMARKED = {"contacts", "conversations", "conversation_parts", "companies", "segments", "company_segments"}
PEER_INTERRUPTED = {"last_processed", "last_sync_started_at"}  # its conversations' keys mid-sync (id-ordered)


# ---- catalog ---------------------------------------------------------------------------------------------

def _top(entry):
    for item in entry.get("metadata") or []:
        if isinstance(item, dict) and not item.get("breadcrumb") and isinstance(item.get("metadata"), dict):
            return item["metadata"]
    return {}


def _looks_like_peer(entry):
    name = entry.get("tap_stream_id") or entry.get("stream")
    top = _top(entry)
    schema = entry.get("schema") if isinstance(entry.get("schema"), dict) else {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    if "_sdc_record_hash" in (entry.get("key_properties") or top.get("table-key-properties") or []):
        return True  # its attribute streams are keyed by a hash; ours by model and full_name
    if name in ("segments", "company_segments") and top.get("forced-replication-method") == "INCREMENTAL":
        return True
    if name == "conversation_parts" and top.get("valid-replication-keys") == ["updated_at"]:
        return True  # ours follow their conversation: conversation_updated_at
    if name == "conversations" and "conversation_message" in properties:
        return True
    return (name == "contacts" and bool(properties) and "selected-by-default" not in top
            and not OUR_CONTACT_FIELDS <= set(properties))


def is_peer_catalog(catalog):
    """True for a catalog the peer wrote (its --discover, or Meltano's/Stitch's selection of it). A catalog
    with one of this tap's own streams, or with entries shaped like this tap's, is never taken for it."""
    entries = [e for e in catalog.get("streams") or [] if isinstance(e, dict)] if isinstance(catalog, dict) else []
    names = {e.get("tap_stream_id") or e.get("stream") for e in entries}
    return bool(entries) and not names & OUR_ONLY_STREAMS and any(_looks_like_peer(e) for e in entries)


def _selected(entry, top):
    return top["selected"] if "selected" in top else entry.get("selected")


def map_catalog(peer_catalog, ours):
    """This tap's catalog (`ours`, from discovery) selected as the peer's was: its contacts select users and
    contacts; a stream selected there is selected here; a field deselected there is deselected here."""
    by_name = {}
    for entry in peer_catalog["streams"]:
        if isinstance(entry, dict):
            by_name[entry.get("tap_stream_id") or entry.get("stream")] = entry
    targets = {}
    for peer_name, entry in by_name.items():
        for name in CONTACTS_AS if peer_name == "contacts" else (peer_name,):
            targets[name] = entry
    mapped, dropped = [], []
    for our in ours["streams"]:
        entry = targets.get(our["tap_stream_id"])
        selected = _selected(entry, _top(entry)) if entry is not None else None
        deselected = set()
        if entry is not None:
            for item in entry.get("metadata") or []:
                if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
                    continue
                crumb = item.get("breadcrumb")
                if isinstance(crumb, list) and len(crumb) == 2 and item["metadata"].get("selected") is False:
                    deselected.add(crumb[1])
        fields = set(our["schema"]["properties"])
        dropped += [f"{our['tap_stream_id']}.{name}" for name in sorted(deselected & fields)]
        for item in our["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = selected is True
            elif item["breadcrumb"][1] in deselected and item["metadata"]["inclusion"] != "automatic":
                item["metadata"]["selected"] = False
        mapped.append(our)
    chosen = [e["tap_stream_id"] for e in mapped if _top(e)["selected"]]
    known = {e["tap_stream_id"] for e in ours["streams"]}
    unknown = sorted(name for name in by_name if name != "contacts" and name not in known)
    LOGGER.info("catalog: %s's catalog mapped: its contacts -> users + contacts; selected here: %s; "
                "%d deselected fields carried over%s", PEER, ", ".join(chosen) or "nothing", len(dropped),
                f"; ignored: {', '.join(unknown)}" if unknown else "")
    return {"streams": mapped}


# ---- state -----------------------------------------------------------------------------------------------

def _peer_signals(bookmarks, current):
    signals = []
    for stream, bookmark in bookmarks.items():
        if stream in ("segments", "company_segments"):
            signals.append(f"a bookmark for {stream}")  # full table here
        if stream in PEER_BOOKMARKED and isinstance(bookmark, str):
            signals.append(f"a bare-string bookmark for {stream}")  # the peer's oldest format
        if isinstance(bookmark, dict) and PEER_INTERRUPTED & set(bookmark):
            signals.append(f"{'/'.join(sorted(PEER_INTERRUPTED & set(bookmark)))} in {stream}")
    if current == "admin_list":
        signals.append("currently_syncing admin_list")
    return signals


def peer_state(raw, peer_catalog):
    """The state in this tap's format when `raw` is the peer's; `raw` itself when it is this tap's.

    Who wrote it: this tap marks its state ("tap": "tap-intercom"); the peer writes shapes this tap never
    does (bookmarks for segments, id-ordered `last_processed`, bare strings); a state with only bookmarks both
    taps write (contacts, companies, conversations) is the peer's when the catalog is, and otherwise refused:
    its `contacts` means all contacts for one tap and leads for the other."""
    if not isinstance(raw, dict) or not isinstance(raw.get("bookmarks"), dict):
        return raw
    bookmarks, current, mark = raw["bookmarks"], raw.get("currently_syncing"), raw.get(MARK)
    if mark == OURS:
        return raw
    if mark not in (None, PEER):
        raise ConfigError(f"state: \"{MARK}\" is {mark!r}; expected {OURS!r} or {PEER!r}")
    signals = _peer_signals(bookmarks, current)
    ours = sorted(OUR_ONLY_STREAMS & set(bookmarks))
    if mark is None:
        if ours and signals:
            raise ConfigError(f"state mixes this tap's bookmarks ({', '.join(ours)}) with {PEER}'s "
                              f"({signals[0]}): restore the state of one tap, or delete it for a full sync")
        if ours or not bookmarks or not signals and not set(bookmarks) <= PEER_BOOKMARKED:
            return raw  # this tap's, or nobody's (State.parse says why)
        if not signals and not peer_catalog:
            raise ConfigError(
                f"state: cannot tell which tap wrote the bookmarks for {', '.join(sorted(bookmarks))} (their "
                f"contacts differ: all contacts there, leads here): add \"{MARK}\": \"{PEER}\" to the state's top "
                f"level if {PEER} wrote it, or \"{MARK}\": \"{OURS}\" if this tap did")
    return _mapped(bookmarks, current)


def _when(bookmarks, stream):
    bookmark = bookmarks.get(stream)
    value = bookmark.get("updated_at") if isinstance(bookmark, dict) else bookmark
    if value is None:
        return None
    return parse_datetime(value, f"state: {PEER}'s bookmark of {stream!r}")


def _on_peer_clock(bookmark):
    value = bookmark.get("updated_at") if isinstance(bookmark, dict) else bookmark
    fraction = value.split(".", 1)[1] if isinstance(value, str) and "." in value else ""
    return fraction.rstrip("Z").split("+")[0].strip("0") != ""


def _mapped(bookmarks, current):
    unknown = sorted(set(bookmarks) - PEER_BOOKMARKED)
    if unknown:
        raise ConfigError(f"state: {PEER} never writes a bookmark for {', '.join(unknown)}: the state is from "
                          "another tap; delete it (a full sync) or restore the right one")
    for stream, bookmark in bookmarks.items():
        allowed = {"updated_at"} | (PEER_INTERRUPTED if stream == "conversations" else set())
        if not isinstance(bookmark, str) and not (isinstance(bookmark, dict) and set(bookmark) <= allowed):
            raise ConfigError(f"state: the bookmark of {stream!r} ({bookmark!r}) is not one {PEER} writes; "
                              "delete the state for a full sync, or restore the right one")
    seeds = {}
    contacts = _when(bookmarks, "contacts")  # written per page of an updated_at-ordered search: safe mid-sync
    if contacts is not None:
        seeds.update({name: contacts for name in CONTACTS_AS})
    companies = _when(bookmarks, "companies")  # written once the scroll completed
    if companies is not None:
        seeds["companies"] = companies
    # Conversations are read in id order: their `updated_at` moves only when a sync completes (an interrupted
    # one adds last_processed), so it is safe. The peer reads parts in the same pass, so that bookmark covers
    # them too; the parts' own is rewritten per conversation in id order and says nothing about the others.
    conversations = _when(bookmarks, "conversations")
    if conversations is not None and _on_peer_clock(bookmarks["conversations"]):
        # Its last_sync_started_at (microseconds; records have whole seconds) is the peer machine's clock, not
        # Intercom's: never trust it past the newest record time the peer saw.
        seen = [_when(bookmarks, name) for name in PEER_BOOKMARKED - {"conversations"}]
        if any(value is not None for value in seen):
            conversations = min(conversations, max(value for value in seen if value is not None))
    if conversations is not None:
        seeds["conversations"] = conversations
        if "conversation_parts" in bookmarks:
            seeds["conversation_parts"] = conversations
    resumed = {"contacts": "users", "conversation_parts": "conversations", "admin_list": "admins"}.get(current, current)
    full = sorted(set(bookmarks) & {"segments", "company_segments"})
    LOGGER.info("state: continuing from %s's bookmarks: %s%s", PEER,
                ", ".join(f"{name} {epoch_to_rfc3339(value)}" for name, value in seeds.items()) or "none",
                f" ({', '.join(full)}: full table here)" if full else "")
    return {"bookmarks": {name: {"updated_at": epoch_to_rfc3339(value)} for name, value in seeds.items()},
            "currently_syncing": resumed, MARK: OURS}
