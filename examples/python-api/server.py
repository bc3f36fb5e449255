"""An inventory API: items live in a SQLite file created at start-up, times are shown in the
zone a client asks for (zone files are read only when a request names them)."""

import datetime
import json
import sqlite3
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DB_PATH = "/app/inventory.db"
# A fixed instant, so every answer is the same on every run.
RESTOCKED_AT = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)


def create_db():
    db = sqlite3.connect(DB_PATH)
    db.execute("drop table if exists items")
    db.execute("create table items (name text primary key, qty integer)")
    db.executemany("insert into items values (?, ?)", [("apple", 3), ("pear", 7), ("quince", 1)])
    db.commit()
    db.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            self.reply(200, {"service": "inventory", "endpoints": ["/items", "/restocked?tz=ZONE"]})
        elif url.path == "/items":
            with sqlite3.connect(DB_PATH) as db:
                rows = db.execute("select name, qty from items order by name").fetchall()
            self.reply(200, {"items": [{"name": n, "qty": q} for n, q in rows]})
        elif url.path == "/restocked":
            zone = parse_qs(url.query).get("tz", ["UTC"])[0]
            try:
                local = RESTOCKED_AT.astimezone(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self.reply(400, {"error": f"unknown time zone {zone}"})
                return
            self.reply(200, {"zone": zone, "restocked": local.isoformat()})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, status, body):
        data = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print("request:", fmt % args, flush=True)


if __name__ == "__main__":
    create_db()
    print("listening on :8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
