"""Activity logs, the help center (help centers, collections, articles in several languages), news (items and
newsfeeds) and subscription types, with their endpoints. Drawn from their own RNG, so they leave the rest of a
seed's workspace unchanged.

Paging, as the 2.14 spec shows it: activity logs (filtered on created_at_after, required, and
created_at_before), articles and collections carry `pages.next` as a cursor object ({page, starting_after}); news
items and newsfeeds carry `pages` with `total_pages` but no `next`, as in the spec's examples; help centers,
subscription types (and ticket types and states) are unpaged.
"""
import base64
import random

from .answers import ApiError, page_number
from .generate import DAY, PHRASES, pick
from .search import per_page_of

LOCALES = ["en", "fr", "de", "pt-BR", "ja"]
ACTIVITY_TYPES = [  # (activity_type, metadata, description)
    ("admin_login_success", {"sign_in_method": "email_password"}, "%s successfully logged in."),
    ("admin_away_mode_change", {"away_mode": True, "away_status_reason": "On a break", "reassign_conversations": False},
     "%s changed their away mode."),
    ("app_name_change", {"before": {"name": "Old name"}, "after": {"name": "New name"}}, "%s changed the app name."),
    ("message_state_change", {"message": {"id": 123, "title": "Welcome"}, "before": {"state": "draft"},
                              "after": {"state": "live"}}, "%s changed a message's state."),
    ("admin_conversation_assignment_limit_change", {"conversation_assignment_limit": 5, "ticket_assignment_limit": None},
     "%s set an assignment limit.")]


class Content:
    def __init__(self, ws, activity_logs=400, articles=60, news_items=55):
        self.ws, r = ws, random.Random(ws.seed * 613 + 3)
        g, app = ws.gen, ws.gen.app_id
        made = g.lo + 10 * DAY
        self.help_centers = [{"id": str(79 + i), "workspace_id": app, "created_at": made, "updated_at": made + i,
                              "identifier": "help-%d" % i, "website_turned_on": i == 0,
                              "display_name": ["Help", "Developers"][i], "url": "https://help.example.com/%d" % i,
                              "custom_domain": "help.example.com" if i == 0 else None} for i in range(2)]
        self.collections = []
        for i in range(6):
            at = g.lo + int(r.random() * (g.hi - g.lo))
            names = {loc: {"type": "group_content", "name": "%s collection %d" % (loc, i),
                           "description": "About %d (%s)" % (i, loc)} for loc in LOCALES[:1 + i % 3]}
            self.collections.append({
                "id": str(150 + i), "workspace_id": app, "name": names["en"]["name"],
                "description": names["en"]["description"] if i % 2 else None, "created_at": at - DAY,
                "updated_at": at,
                "url": "https://help.example.com/0/collection-%d" % i, "icon": "bookmark", "order": i,
                "default_locale": "en", "translated_content": dict(names, type="group_translated_content"),
                "parent_id": str(150 + i - 3) if i >= 3 else None,
                "help_center_id": int(self.help_centers[i % 2]["id"]) if i < 3 else None})
        self.articles = []
        for i in range(articles):
            at, author = g.lo + int(r.random() * (g.hi - g.lo)), ws.admins[i % len(ws.admins)]
            parent = self.collections[i % len(self.collections)]
            langs = LOCALES[:1 + i % len(LOCALES)]
            content = {loc: {"type": "article_content", "title": "Article %d (%s)" % (i, loc),
                             "description": pick(r, ["", "How to %d" % i]), "body": "<p>%s</p>" % pick(r, PHRASES),
                             "author_id": int(author["id"]), "state": pick(r, ["published", "draft"]),
                             "created_at": at - DAY, "updated_at": at,
                             "url": "https://help.example.com/0/%s/articles/%d" % (loc, i)} for loc in langs}
            self.articles.append({
                "type": "article", "id": str(30 + i), "content_id": 4700000 + 7 * i,  # content_id: API-NOTES 10
                "workspace_id": app, "title": content["en"]["title"],
                "description": content["en"]["description"], "body": content["en"]["body"],
                "author_id": int(author["id"]), "state": content["en"]["state"], "created_at": at - DAY,
                "updated_at": at, "url": content["en"]["url"], "parent_id": int(parent["id"]),
                "parent_ids": [int(parent["id"])], "parent_type": "collection", "default_locale": "en",
                "translated_content": dict(content, type="article_translated_content"),
                "tags": {"type": "tag.list", "tags": [dict(ws.tags[i % len(ws.tags)])] if i % 4 == 0 else []}})
        self.articles.sort(key=lambda a: (-a["updated_at"], a["id"]))  # newest first, as Intercom lists them
        self.newsfeeds = [{"id": str(68 + i), "type": "newsfeed", "name": n, "created_at": made,
                           "updated_at": made + i} for i, n in enumerate(["Visitor Feed", "Customer Feed ✓"])]
        self.news_items = []
        for i in range(news_items):  # more than a page of 50, so paging by total_pages is exercised
            at = g.lo + int(r.random() * (g.hi - g.lo))
            feeds = [{"newsfeed_id": int(f["id"]), "published_at": at} for f in self.newsfeeds[:i % 3]]
            self.news_items.append({
                "id": str(29 + i), "type": "news-item", "workspace_id": app, "title": "We have news %d" % i,
                "body": "<p>%s</p>" % pick(r, PHRASES), "sender_id": int(ws.admins[i % len(ws.admins)]["id"]),
                "state": "live" if feeds else "draft", "newsfeed_assignments": feeds,
                "labels": ["Product"] if i % 2 else [], "cover_image_url": None if i % 3 else
                "https://static.example.com/news/%d.png" % i, "reactions": ["💖", None, "👍", None][:i % 5],
                "deliver_silently": i == 5, "created_at": at - DAY, "updated_at": at})
        self.subscription_types = [
            {"type": "subscription", "id": str(135 + i), "state": ["live", "draft", "archived"][i],
             "consent_type": ["opt_out", "opt_in", "opt_out"][i],
             "default_translation": {"name": n, "description": "About %s" % n, "locale": "en"},
             "translations": [{"name": n, "description": "About %s" % n, "locale": "en"},
                              {"name": n + " (fr)", "description": "À propos", "locale": "fr"}][:1 + i % 2],
             "content_types": [["email"], ["sms_message"], ["email", "sms_message"]][i]}
            for i, n in enumerate(["Newsletters", "Product updates", "Offers"])]
        self.activity_logs = []  # over the whole year, oldest first
        for i in range(activity_logs):
            at = g.lo + (g.hi - g.lo) * i // max(1, activity_logs)
            admin = ws.admins[int(r.random() * len(ws.admins))]
            kind, meta, text = ACTIVITY_TYPES[int(r.random() * len(ACTIVITY_TYPES))]
            meta = dict(meta)
            if kind == "admin_conversation_assignment_limit_change":
                # whose limit changed: metadata ids are integers, performed_by.id a string (API-NOTES 10)
                other = ws.admins[(i + 1) % len(ws.admins)]
                meta["admin"] = {"id": int(other["id"]), "name": other["name"]}
                if ws.teams and i % 2:
                    meta["team"] = {"id": int(ws.teams[i % len(ws.teams)]["id"]), "name": ws.teams[i % len(ws.teams)]["name"]}
            self.activity_logs.append({
                "id": "%08x-4b72-4dce-ad4f-%012x" % (at, i), "created_at": at, "activity_type": kind,
                "performed_by": {"type": "admin", "id": admin["id"], "email": admin["email"],
                                 "ip": "198.51.100.%d" % (i % 250)},
                "metadata": meta, "activity_description": text % admin["name"]})

    def truth(self):
        by_id = lambda recs: sorted(recs, key=lambda x: x["id"])  # noqa: E731
        return {"activity_logs": by_id(self.activity_logs), "articles": by_id(self.articles),
                "help_center_collections": by_id(self.collections), "help_centers": by_id(self.help_centers),
                "news_items": by_id(self.news_items), "newsfeeds": by_id(self.newsfeeds),
                "subscription_types": by_id(self.subscription_types)}


def _pages(req, records, default_per_page, next_style, extras=None, kind=None):
    """One page of `records`. next_style: "cursor" (`next` = {page, starting_after}, null on the last page) or
    None (no `next`: total_pages says whether more follow)."""
    if req.query.get("starting_after"):
        try:
            page = int(base64.b64decode(req.query["starting_after"]).decode().split(":")[1])
        except (ValueError, IndexError, UnicodeError):
            raise ApiError(400, "parameter_invalid", "starting_after is invalid")
    else:
        page = page_number(req.query.get("page"))
    per_page = per_page_of(req.query.get("per_page"), default_per_page)
    total_pages = max(1, -(-len(records) // per_page))
    pages = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
    more = page < total_pages
    if next_style == "cursor":
        pages["next"] = {"page": page + 1, "starting_after": base64.b64encode(
            ("page:%d" % (page + 1)).encode()).decode()} if more else None
    data = records[(page - 1) * per_page:page * per_page]
    return {"type": "list", "data": extras.each(data, kind) if extras else data, "total_count": len(records),
            "pages": pages}


def routes(api):
    """(method, template, scope, handler) for these endpoints."""
    content = api.ws.content

    def activity_logs(req):
        def epoch(name, default=None):
            raw = req.query.get(name)
            if raw in (None, ""):
                if default is None:
                    raise ApiError(400, "parameter_not_found", "%s is required" % name)
                return default
            try:
                return int(raw)
            except ValueError:
                raise ApiError(400, "parameter_invalid", "%s must be a UNIX timestamp" % name)
        after, before = epoch("created_at_after"), epoch("created_at_before", 2 ** 62)
        logs = [x for x in reversed(content.activity_logs) if after <= x["created_at"] <= before]  # newest first
        out = _pages(req, logs, 20, "cursor", api.ex, "activity_log")
        out["type"], out["activity_logs"] = "activity_log.list", out.pop("data")
        del out["total_count"]
        return 200, out

    def listed(records, per_page, next_style, kind=None):
        return lambda req: (200, _pages(req, getattr(content, records), per_page, next_style, api.ex, kind))

    return [("GET", "/admins/activity_logs", "read_admin_activity_logs", activity_logs),
            ("GET", "/articles", "read_articles", listed("articles", 25, "cursor")),
            ("GET", "/help_center/collections", "read_articles", listed("collections", 20, "cursor", "collection")),
            ("GET", "/help_center/help_centers", "read_articles",
             lambda req: (200, {"type": "list", "data": api.ex.each(content.help_centers, "help_center")})),
            ("GET", "/news/news_items", "read_news", listed("news_items", 10, None)),
            ("GET", "/news/newsfeeds", "read_news", listed("newsfeeds", 10, None)),
            ("GET", "/subscription_types", "read_users_companies",
             lambda req: (200, {"type": "list", "data": api.ex.each(content.subscription_types)}))]
