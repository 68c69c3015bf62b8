"""The Intercom streams: one declaration each. Pagination, state and concurrency live in sync.py.

A Source is one way of reading an Intercom collection; streams sharing a source are read in one pass
(users, leads and their social profiles come from one contact search; conversations and their parts from
one conversation search). A stream of the contact search may take one `role` (user or lead). Two optional hooks hold everything else
that is Intercom-specific:
  fetches(record, fields)  -> {name: function(client)}: more data for it, each fetched concurrently in the
                              worker pool (only the stream's selected `fields` need completing)
  rows(record, fetched)    -> the stream's records made from it and {name: result} (default: the record)
"""
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Optional

from tap_intercom.reading import content_export, newer, pagers
from tap_intercom.records import links
from tap_intercom.reading.deleted_conversations import deleted_pages
from tap_intercom.errors import ApiError

LOGGER = logging.getLogger("tap_intercom")

PARTS_LIMIT = 500  # Intercom returns only the 500 most recent parts of a conversation (or ticket)
EMBEDDED_LIMIT = 10  # contacts embed at most 10 tags, companies and notes
CONTACT_LISTS = ("tags", "companies", "notes")
SUBLIST_PAGE_SIZE = 50  # the documented maximum for these lists is unclear (150 in general, 60 seen); 50 is safe
LIST_PAGE_SIZE = 50  # articles, collections, news, activity logs: no documented per_page maximum either
_NO_LIST = {}


@dataclass(frozen=True)
class Source:
    name: str
    path: str
    envelope: str
    style: str  # "listing", "pages" (page/per_page), "search", "scroll", "window" (created_at_after/_before)
    # or "newest_first" (page/per_page from the newest, stopping at the bookmark)
    params: dict = field(default_factory=dict)
    day_granular: bool = False  # contact search matches dates by whole day (API-NOTES 3.7)
    record_path: Optional[str] = None  # GET one record by {id}: owed fetches (owed.py) read their record again
    cursor: str = "updated_at"  # the records' field the bookmarks follow
    version: Optional[str] = None  # the Intercom-Version its calls need, when newer than api_version (newer.py)
    pager: Optional[Callable] = None  # pager(client, since, source) -> pages, for a paging of its own
    page_size: Optional[int] = None  # "pages": a smaller maximum than LIST_PAGE_SIZE

    @property
    def incremental(self):
        return self.style not in ("listing", "pages", "scroll")  # the scroll has no filter: read whole

    def pages(self, client, since, page_size, role=None, until=None):
        if self.pager:
            return self.pager(client, since, self)
        if self.style == "listing":
            return pagers.listing_pages(client, self.path, self.envelope, self.params)
        if self.style == "pages":
            return pagers.numbered_pages(client, self.path, self.envelope, self.page_size or LIST_PAGE_SIZE,
                                         params=self.params)
        if self.style == "window":
            # Whether created_at_after includes its own second is not documented: ask from the second before.
            window = {"created_at_after": since - 1, "created_at_before": until}
            return pagers.numbered_pages(client, self.path, self.envelope, LIST_PAGE_SIZE, params=window)
        if self.style == "scroll":
            return pagers.scroll_pages(client, self.path, self.envelope)
        if self.style == "newest_first":
            return deleted_pages(client, self.path, self.envelope, since)
        return pagers.search_pages(client, self.path, self.envelope, self._query(since, role, until),
                                   {"field": "updated_at", "order": "ascending"}, page_size)

    def _query(self, since, role, until=None):
        # Day-granular `>` X matches from the day after X's day (in the workspace's timezone, which the tap
        # cannot know): X = since - 1 day starts at since's own day whatever the timezone. Conversation
        # search is exact but documents `>` as "greater or equal": since - 1 is right under both readings.
        # Records before `since` are dropped by the engine.
        after = since - 86400 if self.day_granular else since - 1
        filters = [{"field": "updated_at", "operator": ">", "value": after}]
        if until is not None:  # a window's end (windows.py): day-granular `<` X matches before X's day
            filters.append({"field": "updated_at", "operator": "<", "value": until})
        if role:
            filters.insert(0, {"field": "role", "operator": "=", "value": role})
        return filters[0] if len(filters) == 1 else {"operator": "AND", "value": filters}


@dataclass(frozen=True)
class Stream:
    name: str
    schema: str  # file in schemas/
    key: tuple
    source: Source
    replication_key: Optional[str] = None  # None: FULL_TABLE
    fetches: Optional[Callable] = None
    rows: Optional[Callable] = None
    role: Optional[str] = None  # contact search: the contacts' role this stream takes (filtered server-side
    # when every selected stream of the search takes the same one)
    description: str = ""
    history: bool = False  # every version of its records, kept: never in a table version, not selected by default
    version: Optional[str] = None  # a shared source read with this Intercom-Version when the stream is selected
    search_params: Optional[dict] = None  # ... and with these query parameters on its path (newer.py)
    selected_by_default: bool = True
    completes: bool = False  # its fetches complete its own records (a contact's long lists) rather than make its
    # rows: an endpoint Intercom refuses leaves the records as listed instead of skipping the stream (record_fetches.py)
    omits: tuple = ()  # top-level fields its rows never carry, though its schema declares them (catalog.select)

    @property
    def automatic(self):
        """Fields always emitted: the key and the replication key."""
        return set(self.key) | ({self.replication_key} if self.replication_key else set())


# ---- hooks ----------------------------------------------------------------------------------------------

def contact_list_fetches(contact, fields):
    """Intercom embeds at most 10 tags, companies and notes in a contact; when has_more, fetch the whole list."""
    get = contact.get
    tags, companies, notes = get("tags"), get("companies"), get("notes")  # CONTACT_LISTS, spelt out: per record
    if not ((tags and tags.get("has_more")) or (companies and companies.get("has_more"))
            or (notes and notes.get("has_more"))):
        return _NO_LIST
    longer = [name for name in CONTACT_LISTS if (get(name) or _NO_LIST).get("has_more")]
    return {name: ContactList.of(contact, name) for name in longer if name in fields}


@dataclass(frozen=True)
class ContactList:
    """The fetch of one contact's complete list. Equal, so that the fetches of one record wanted by several
    streams (users, contact_tags, users_history) are made once (record_fetches.py)."""
    contact_id: str
    name: str
    url: Optional[str]

    @classmethod
    def of(cls, contact, name):
        return cls(str(contact["id"]), name, (contact.get(name) or _NO_LIST).get("url"))

    def __call__(self, client):
        return fetch_contact_list(self.url or f"/contacts/{self.contact_id}/{self.name}", self.name, client,
                                  self.contact_id)


def fetch_contact_list(path, name, client, contact_id):
    endpoint = f"/contacts/{{id}}/{name}"
    # A failure (a 404 too: it may be transient) keeps the first 10 items and owes the list (owed.py); refused
    # for every contact, the lists stay as embedded and contact_tags/contact_companies are skipped (record_fetches.py).
    pages = (pagers.listing_pages(client, path, "data", endpoint=endpoint) if name == "tags"
             else pagers.numbered_pages(client, path, "data", SUBLIST_PAGE_SIZE, endpoint=endpoint))
    try:
        return [item for page in pages for item in page]
    except ApiError as exc:
        if newer.merged(exc, contact_id, f"its {name} list"):  # merged since the search: keeps its first 10
            return None
        raise


def contact_rows(contact, lists):
    for name, items in (lists.items() if lists else ()):
        if items is not None:  # the complete list, in the embedded items' form; embedded items kept as sent
            embedded = {str(item.get("id")): item for item in contact[name].get("data") or () if isinstance(item, dict)}
            contact[name]["data"] = [embedded.get(str(item.get("id"))) or {
                "type": item.get("type"), "id": str(item.get("id")),
                "url": item.get("url") or f"/{name}/{item.get('id')}"} for item in items]
            contact[name]["has_more"] = False
    avatar = contact.get("avatar")
    if isinstance(avatar, str):  # the docs show a plain URL, the 2.14 spec an object: keep the spec's form
        contact["avatar"] = {"type": "avatar", "image_url": avatar}
    # merge_history (asked for contact_merges, newer.py, which reads it from the record) is not written: the
    # contact streams omit it (Stream.omits), which costs less than a copy without it here
    return (contact,)


# A contact's social profiles (its embedded {"type": "list", "data": [...]}), one row per name and URL.
social_profile_rows = links.Embedded("contact", "social_profiles", "data", ("name", "url"))


def contact_tags_fetches(contact, _fields):
    tags = contact.get("tags")  # one list's check, per record
    return contact_list_fetches(contact, ("tags",)) if tags and tags.get("has_more") else _NO_LIST


def contact_companies_fetches(contact, _fields):
    companies = contact.get("companies")
    return contact_list_fetches(contact, ("companies",)) if companies and companies.get("has_more") else _NO_LIST


def conversation_fetches(conversation, _fields, kind="conversation"):
    return {"detail": partial(fetch_conversation, conversation["id"], kind=kind)}


def fetch_conversation(conversation_id, client, kind="conversation"):
    """A conversation or ticket with its parts."""
    # Bodies stay HTML, as Intercom stores them (display_as=plaintext would drop links and formatting).
    # A failure (a 404 too: it may be transient) writes the conversation and owes its parts (owed.py); refused or
    # failing for every record, the parts stream alone stops (record_fetches.Endpoints).
    return client.get(f"/{kind}s/{conversation_id}", endpoint=f"/{kind}s/{{id}}")


def conversation_part_rows(conversation, fetched, kind="conversation"):
    """The parts of a conversation or ticket, each with its parent's id and updated_at."""
    detail = (fetched or {}).get("detail")
    if detail is None:
        return ()
    listing = detail.get(f"{kind}_parts") or {}
    parts = listing.get(f"{kind}_parts") or []
    total = listing.get("total_count")
    if len(parts) >= PARTS_LIMIT or (isinstance(total, int) and total > len(parts)):
        LOGGER.warning("%s %s has %s parts; Intercom returns only the %d most recent, so older parts "
                       "are not available", kind, conversation["id"], total if total else f"{len(parts)}+",
                       PARTS_LIMIT)
    parent = {f"{kind}_id": str(conversation["id"]), f"{kind}_updated_at": conversation.get("updated_at")}
    return [{**part, **parent} for part in parts]


ticket_fetches = partial(conversation_fetches, kind="ticket")
ticket_part_rows = partial(conversation_part_rows, kind="ticket")


def admin_rows(admin, _fetched):
    avatar = admin.get("avatar")
    # 2.11 and earlier sent {"image_url": ...}; 2.14 sends the URL. An object with more than that is kept
    # (written as its JSON text, the declared type being a string): nothing is lost.
    if isinstance(avatar, dict) and set(avatar) <= {"type", "image_url"}:
        admin["avatar"] = avatar.get("image_url")
    return (admin,)


# ---- declarations ---------------------------------------------------------------------------------------

CONTACT_SEARCH = Source("contacts", "/contacts/search", "data", "search", day_granular=True,
                        record_path="/contacts/{id}")
CONVERSATION_SEARCH = Source("conversations", "/conversations/search", "conversations", "search",
                             record_path="/conversations/{id}")
COMPANY_SCROLL = Source("companies", "/companies/scroll", "data", "scroll")
DELETED_CONVERSATIONS = Source("deleted_conversations", "/conversations/deleted", "conversations", "newest_first",
                               cursor="deleted_at")
TICKET_SEARCH = Source("tickets", "/tickets/search", "tickets", "search", record_path="/tickets/{id}")
ACTIVITY_LOGS = Source("activity_logs", "/admins/activity_logs", "activity_logs", "window", cursor="created_at")


def listing(path, envelope, **params):
    return Source(path + "?" + "&".join(f"{k}={v}" for k, v in params.items()), path, envelope, "listing", params)


def paged(path, envelope):
    return Source(path, path, envelope, "pages")


CONTACT_OMITS = ("merge_history",)  # contact_merges' rows, not the contacts' (see contact_rows)

STREAMS = [
    Stream("users", "contact", ("id",), CONTACT_SEARCH, "updated_at", role="user",
           fetches=contact_list_fetches, rows=contact_rows, completes=True, omits=CONTACT_OMITS,
           description="Contacts with role user, with complete tag, company and note lists."),
    Stream("contacts", "contact", ("id",), CONTACT_SEARCH, "updated_at", role="lead",
           fetches=contact_list_fetches, rows=contact_rows, completes=True, omits=CONTACT_OMITS,
           description="Leads (contacts with role lead), with complete tag, company and note lists."),
    Stream("social_profiles", "social_profile", ("contact_id", "name", "url"), CONTACT_SEARCH,
           "contact_updated_at", rows=social_profile_rows,
           description="One row per social profile of a user or lead, with contact_id."),
    Stream("companies", "company", ("id",), COMPANY_SCROLL,
           description="Every company, every run (the scroll has no filter): counts such as user_count change "
                       "without updated_at changing."),
    Stream("conversations", "conversation", ("id",), CONVERSATION_SEARCH, "updated_at",
           description="Conversations, without their parts."),
    Stream("conversation_parts", "conversation_part", ("id",), CONVERSATION_SEARCH, "conversation_updated_at",
           fetches=conversation_fetches, rows=conversation_part_rows,
           description="Every part of each changed conversation (Intercom keeps the 500 most recent)."),
    Stream("deleted_conversations", "deleted_conversation", ("id",), DELETED_CONVERSATIONS, "deleted_at",
           description="Conversations deleted in Intercom, with deleted_at (Intercom-Version 2.16 on this call)."),
    Stream("admins", "admin", ("id",), listing("/admins", "admins", display_avatar="true"), rows=admin_rows,
           description="Teammates, with avatars."),
    Stream("teams", "team", ("id",), listing("/teams", "teams"), description="Teams."),
    Stream("tags", "tag", ("id",), listing("/tags", "data"), description="Tags."),
    Stream("segments", "segment", ("id",), listing("/segments", "segments", include_count="true"),
           description="Segments of users and leads, with member counts (full table: counts change "
                       "without updated_at changing)."),
    Stream("company_segments", "segment", ("id",),
           listing("/segments", "segments", type="company", include_count="true"),
           description="Segments of companies, with member counts."),
    Stream("company_attributes", "data_attribute", ("model", "full_name"),
           listing("/data_attributes", "data", model="company", include_archived="true"),
           description="Data attributes of companies, standard and custom."),
    Stream("contact_attributes", "data_attribute", ("model", "full_name"),
           listing("/data_attributes", "data", model="contact", include_archived="true"),
           description="Data attributes of contacts, standard and custom."),
    Stream("tickets", "ticket", ("id",), TICKET_SEARCH, "updated_at",
           description="Tickets with their custom attributes, state and type, without their parts."),
    Stream("ticket_parts", "ticket_part", ("id",), TICKET_SEARCH, "ticket_updated_at",
           fetches=ticket_fetches, rows=ticket_part_rows,
           description="Every part of each changed ticket (Intercom keeps the 500 most recent), with ticket_id "
                       "(the ticket's id)."),
    Stream("ticket_types", "ticket_type", ("id",), listing("/ticket_types", "data"),
           description="Ticket types with their attributes."),
    Stream("ticket_states", "ticket_state", ("id",), listing("/ticket_states", "data"),
           description="Ticket states and the ticket types using them."),
    Stream("activity_logs", "activity_log", ("id",), ACTIVITY_LOGS, "created_at",
           description="The admins' activity log (sign-ins, setting and content changes)."),
    Stream("articles", "article", ("id",), paged("/articles", "data"),
           description="Help center articles with their translations (full table: the list has no filter)."),
    Stream("help_center_collections", "help_center_collection", ("id",), paged("/help_center/collections", "data"),
           description="Help center collections and sections."),
    Stream("help_centers", "help_center", ("id",), listing("/help_center/help_centers", "data"),
           description="Help centers."),
    Stream("news_items", "news_item", ("id",), paged("/news/news_items", "data"), description="News items."),
    Stream("newsfeeds", "newsfeed", ("id",), paged("/news/newsfeeds", "data"), description="Newsfeeds."),
    Stream("subscription_types", "subscription_type", ("id",), listing("/subscription_types", "data"),
           description="Subscription types with their translations."),
]

# Link streams (links.py): one row per relation a record carries, read with their parent at no extra call.
STREAMS += [
    Stream("contact_tags", "contact_tag", ("contact_id", "tag_id"), CONTACT_SEARCH, "contact_updated_at",
           fetches=contact_tags_fetches, rows=links.contact_tag_rows,
           description="The tags of each user and lead (complete lists), with contact_updated_at."),
    Stream("contact_companies", "contact_company", ("contact_id", "company_id"), CONTACT_SEARCH,
           "contact_updated_at", fetches=contact_companies_fetches, rows=links.contact_company_rows,
           description="The companies of each user and lead (complete lists), with contact_updated_at."),
    Stream("company_tags", "company_tag", ("company_id", "tag_id"), COMPANY_SCROLL, rows=links.company_tag_rows,
           description="The tags of each company, with company_updated_at."),
    Stream("company_segment_memberships", "company_segment_membership", ("company_id", "segment_id"),
           COMPANY_SCROLL, rows=links.company_segment_rows,
           description="The segments each company is in, with company_updated_at."),
    Stream("conversation_tags", "conversation_tag", ("conversation_id", "tag_id"), CONVERSATION_SEARCH,
           "conversation_updated_at", rows=links.conversation_tag_rows,
           description="The tags of each conversation, with applied_at and applied_by."),
    Stream("conversation_contacts", "conversation_contact", ("conversation_id", "contact_id"), CONVERSATION_SEARCH,
           "conversation_updated_at", rows=links.conversation_contact_rows,
           description="The contacts of each conversation, with their external_id."),
    Stream("conversation_teammates", "conversation_teammate", ("conversation_id", "admin_id"), CONVERSATION_SEARCH,
           "conversation_updated_at", rows=links.conversation_teammate_rows,
           description="The teammates who took part in each conversation."),
    Stream("ticket_contacts", "ticket_contact", ("ticket_id", "contact_id"), TICKET_SEARCH, "ticket_updated_at",
           rows=links.ticket_contact_rows, description="The contacts of each ticket, with their external_id."),
    Stream("team_admins", "team_admin", ("team_id", "admin_id"), listing("/teams", "teams"),
           rows=links.team_admin_rows, description="The admins of each team (primary: first-line)."),
]

# History streams: every version of a record the tap reads, key (id, updated_at); never removed by a table
# version and not selected by default (they grow without bound).
STREAMS += [
    Stream("users_history", "contact", ("id", "updated_at"), CONTACT_SEARCH, "updated_at", role="user",
           fetches=contact_list_fetches, rows=contact_rows, completes=True, omits=CONTACT_OMITS, history=True,
           selected_by_default=False,
           description="Every version of each user the tap read (one row per updated_at seen)."),
    Stream("contacts_history", "contact", ("id", "updated_at"), CONTACT_SEARCH, "updated_at", role="lead",
           fetches=contact_list_fetches, rows=contact_rows, completes=True, omits=CONTACT_OMITS, history=True,
           selected_by_default=False,
           description="Every version of each lead the tap read (one row per updated_at seen)."),
    Stream("companies_history", "company", ("id", "updated_at"), COMPANY_SCROLL, "updated_at", history=True,
           selected_by_default=False,
           description="Every version of each company the tap read (one row per updated_at seen)."),
    Stream("conversations_history", "conversation", ("id", "updated_at"), CONVERSATION_SEARCH, "updated_at",
           history=True, selected_by_default=False,
           description="Every version of each conversation the tap read (without parts)."),
    Stream("tickets_history", "ticket", ("id", "updated_at"), TICKET_SEARCH, "updated_at", history=True,
           selected_by_default=False, description="Every version of each ticket the tap read (without parts)."),
]

# ---- API 2.14-2.16 (newer.py): each source's calls carry the version it needs -----------------------------

def newer_listing(path, envelope, version, **params):
    return Source(path + "?" + "&".join(f"{k}={v}" for k, v in params.items()), path, envelope, "listing", params,
                  version=version)


CALLS = Source("calls", "/calls", "data", "pages", version="2.14", page_size=newer.CALLS_PAGE_SIZE)
MACROS = Source("macros", "/macros", "data", "newest_first", version="2.16", pager=newer.macro_pages)
CUSTOM_OBJECTS = Source("custom_object_instances", "/custom_object_instances", "data", "listing", version="2.16",
                        pager=newer.custom_object_pages)

CALL_TRANSCRIPTS = Source("call_transcripts", "/calls/search", "data", "newest_first", version="2.14",
                          pager=newer.transcript_pages, cursor="")  # the bookmark: newer.Watermark pages

STREAMS += [
    Stream("calls", "call", ("id",), CALLS,
           description="Phone calls (full table: the list has no filter; 25 a page)."),
    Stream("call_transcripts", "call_transcript", ("call_id",), CALL_TRANSCRIPTS, "call_created_at",
           description="Each call's transcript as Intercom sends it, with transcript_status; a pending one is "
                       "asked again next run."),
    Stream("internal_articles", "internal_article", ("id",),
           Source("internal_articles", "/internal_articles", "data", "pages", version="2.14"),
           description="The internal knowledge base (Fin and teammates read it)."),
    Stream("away_status_reasons", "away_status_reason", ("id",),
           newer_listing("/away_status_reasons", "data", "2.14"),
           description="Away status reasons, deleted ones included (admins.away_status_reason_id joins them)."),
    Stream("office_hours_schedules", "office_hours_schedule", ("id",),
           newer_listing("/office_hours_schedules", "data", "2.16"), description="Office hours schedules."),
    Stream("conversation_attributes", "conversation_attribute", ("id",),
           newer_listing("/conversations/attributes", "data", "2.16", include_archived="true"),
           description="Conversation attributes, archived ones included."),
    Stream("macros", "macro", ("id",), MACROS, "updated_at",
           description="Macros (saved replies), incremental on updated_at."),
    Stream("contact_merges", "contact_merge", ("id",), CONTACT_SEARCH, "merged_into_updated_at",
           rows=newer.merge_rows, role="user", version="2.16", search_params={"include_merge_history": "true"},
           description="One row per contact merged into a user (id: the merged contact), from the users' "
                       "merge_history: no extra call (the contact search is sent with 2.16 when selected)."),
    Stream("conversation_handling_events", "conversation_handling_event",
           ("conversation_id", "teammate_id", "type", "timestamp"), CONVERSATION_SEARCH, "conversation_updated_at",
           fetches=newer.handling_event_fetches, rows=newer.handling_event_rows, selected_by_default=False,
           description="Pause and resume events of each changed conversation (one more call per conversation: "
                       "not selected by default)."),
    Stream("custom_object_instances", "custom_object_instance", ("type", "id"), CUSTOM_OBJECTS,
           description="Instances of the custom object types named in the custom_object_types setting."),
]
# ---- the content data export (content_export.py): one job per range of send time feeds the three ----------

# In the 2.14-2.16 specs, not 2.11: like the other newer endpoints, a 404 on its own call means this workspace or
# version does not serve it, and its streams are skipped with a warning, not failed.
CONTENT_EXPORT = Source("content_export", "/export/content/data", "", content_export.STYLE, cursor="", version="2.14")

STREAMS += [
    Stream("message_receipts", "message_receipt", ("receipt_id",), CONTENT_EXPORT, "received_at",
           selected_by_default=False,
           description="One row per outbound message received by a contact (email, post, chat, survey, tour, series, "
                       "banner, push, SMS, WhatsApp), with its first_<event> times (a job per range: not selected "
                       "by default)."),
    Stream("message_events", "message_event", ("receipt_id", "event", "occurred_at", "detail"), CONTENT_EXPORT,
           "occurred_at", selected_by_default=False,
           description="One row per open, click, reply, bounce, unsubscribe, answer, ... of a received message "
                       "(detail: its url, step_id or question_id, \"-\" when it has none)."),
    Stream("message_checkpoints", "message_checkpoint", ("series_entry_record_id", "ruleset_id"), CONTENT_EXPORT,
           "created_at", selected_by_default=False,
           description="Series checkpoints: each contact's entry into a series and its progress."),
]
STREAMS_BY_NAME = {stream.name: stream for stream in STREAMS}
