"""Crunch a few numbers with the standard library and print a deterministic report."""

import base64
import collections
import csv
import datetime
import decimal
import hashlib
import io
import json
import re
import sqlite3
import textwrap

ROWS = "name,qty,price\nwidget,3,2.50\ngadget,1,10.00\nwidget,2,2.50\ngizmo,5,1.25\n"


def main():
    rows = list(csv.DictReader(io.StringIO(ROWS)))
    totals = collections.Counter()
    for row in rows:
        totals[row["name"]] += int(row["qty"])
    revenue = sum(decimal.Decimal(r["price"]) * int(r["qty"]) for r in rows)

    db = sqlite3.connect(":memory:")
    db.execute("create table sales (name text, qty int)")
    db.executemany("insert into sales values (?, ?)", [(r["name"], int(r["qty"])) for r in rows])
    (best,) = db.execute("select name from sales group by name order by sum(qty) desc limit 1").fetchone()

    day = datetime.date(2024, 2, 29) + datetime.timedelta(days=1)
    digest = hashlib.sha256(ROWS.encode()).hexdigest()[:16]
    words = re.findall(r"[a-z]+", ROWS)
    print(json.dumps({"totals": dict(sorted(totals.items())), "revenue": str(revenue), "best": best}, sort_keys=True))
    print(f"next day: {day.isoformat()}  digest: {digest}  words: {len(words)}")
    print(textwrap.fill(base64.b64encode(b"slim keeps what the app needs").decode(), width=24))


if __name__ == "__main__":
    main()
