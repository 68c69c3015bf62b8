#!/usr/bin/env python3
"""Extract the 2.14 response schemas of the endpoints the emulator serves for tickets, activity logs, the help
center, news and subscription types (with every component they reach) into tests/fixtures, so the emulator's
responses can be validated against the spec without the spec or PyYAML at test time.

Usage: scripts/spec_responses.py ../shared/intercom-api/openapi-2.14.yaml   (needs PyYAML)
"""
import json
import sys
from pathlib import Path

import yaml

ENDPOINTS = [("post", "/tickets/search"), ("get", "/tickets/{ticket_id}"), ("get", "/ticket_types"),
             ("get", "/ticket_states"), ("get", "/admins/activity_logs"), ("get", "/articles"),
             ("get", "/help_center/collections"), ("get", "/help_center/help_centers"), ("get", "/news/news_items"),
             ("get", "/news/newsfeeds"), ("get", "/subscription_types")]


def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[1])
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def main(spec_path):
    spec = yaml.safe_load(open(spec_path, encoding="utf-8"))
    responses = {}
    for method, path in ENDPOINTS:
        ok = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        responses[f"{method.upper()} {path}"] = ok
    components, todo = {}, set()
    refs(responses, todo)
    while todo:
        name = todo.pop()
        if name not in components:
            components[name] = spec["components"]["schemas"][name]
            refs(components[name], todo)
    out = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "openapi-2.14-responses.json"
    license_text = (Path(spec_path).parent / "LICENSE-intercom-openapi").read_text(encoding="utf-8")
    out.write_text(json.dumps({"source": "an excerpt of Intercom's OpenAPI description 2.14", "license": license_text,
                               "responses": responses, "components": dict(sorted(components.items()))},
                              indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main(sys.argv[1])
