#!/usr/bin/env python3
"""A small stand-in for Close's API, for schemathesis runs of the server.

Answers with the bodies of tests/fixtures/responses/close/ in Close's real
shapes: custom field definitions, statuses, users paged by `_skip`/`_limit`,
a list paged by `_skip`/`_limit` over the
records of the three list fixtures, and one record per id (the fixture
record with that id). It remembers creates and deletes, so a deleted id
answers 404 like Close does. Listens on 127.0.0.1 only.

    python3 server/mock_provider.py PORT
"""

import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "responses", "close")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as file:
        return json.load(file)


CUSTOM_FIELDS = fixture("custom_fields.json")
STATUSES = fixture("statuses.json")
USERS = [user for n in (1, 2) for user in fixture(f"users_page{n}.json")["data"]]
OPPORTUNITY = fixture("opportunity.json")
ERROR_404 = fixture("error_404.json")
PAGES = [fixture(f"list_page{n}.json") for n in (1, 2, 3)]
RECORDS = [record for page in PAGES for record in page["data"]]
ENVELOPE = {key: value for key, value in PAGES[0].items() if key not in ("data", "has_more")}

RECORD_PATH = re.compile(r"^/opportunity/([^/]+)/$")
LOCK = threading.Lock()
DELETED = set()
CREATED = 0


def record(opportunity_id):
    body = dict(OPPORTUNITY)
    body["id"] = opportunity_id
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: schemathesis sends thousands
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def route(self, verb):
        global CREATED
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.read_body()
        if verb == "GET" and url.path == "/custom_field/opportunity/":
            return self.answer(200, dict(CUSTOM_FIELDS, has_more=False))
        if verb == "GET" and url.path == "/status/opportunity/":
            return self.answer(200, STATUSES)
        if verb == "GET" and url.path == "/user/":
            skip = int((query.get("_skip") or ["0"])[0] or 0)
            limit = int((query.get("_limit") or ["100"])[0] or 100)
            data = USERS[skip : skip + limit]
            return self.answer(200, {"data": data, "has_more": skip + limit < len(USERS)})
        if url.path == "/opportunity/":
            if verb == "GET":
                skip = int((query.get("_skip") or ["0"])[0] or 0)
                limit = int((query.get("_limit") or ["100"])[0] or 100)
                data = RECORDS[skip : skip + limit]
                return self.answer(
                    200, dict(ENVELOPE, data=data, has_more=skip + limit < len(RECORDS))
                )
            if verb == "POST":
                with LOCK:
                    CREATED += 1
                    new_id = f"oppo_mock{CREATED:08d}"
                return self.answer(200, record(new_id))
        match = RECORD_PATH.match(url.path)
        if match:
            opportunity_id = match.group(1)
            with LOCK:
                gone = opportunity_id in DELETED
                if verb == "DELETE" and not gone:
                    DELETED.add(opportunity_id)
            if gone:
                return self.answer(404, ERROR_404)
            if verb in ("GET", "PUT"):
                return self.answer(200, record(opportunity_id))
            if verb == "DELETE":
                return self.answer(200, {})
        return self.answer(404, {"error": f"mock: no route for {verb} {url.path}"})

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
