"""A small plant nursery site: pages rendered from Jinja2 templates, a JSON API, a CSV export
and a statistics page. csv and statistics are imported inside the handlers that use them, so
they are loaded only when those pages are first asked for."""

from flask import Flask, Response, jsonify, render_template

app = Flask(__name__)

PLANTS = [
    {"name": "basil", "price": "2.50", "stock": 12},
    {"name": "fern", "price": "7.25", "stock": 3},
    {"name": "lavender", "price": "4.00", "stock": 8},
    {"name": "rosemary", "price": "3.75", "stock": 5},
]


@app.route("/")
def index():
    return render_template("index.html", plants=PLANTS)


@app.route("/about")
def about():
    return render_template("about.html", founded=1987, staff=["Ada", "Grace", "Linus"])


@app.route("/api/plants")
def api_plants():
    return jsonify(plants=PLANTS, count=len(PLANTS))


@app.route("/export.csv")
def export_csv():
    import csv  # lazy: only this page needs it
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["name", "price", "stock"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(PLANTS)
    return Response(out.getvalue(), mimetype="text/csv")


@app.route("/stats")
def stats():
    import statistics  # lazy: only this page needs it
    from fractions import Fraction

    prices = [Fraction(p["price"]) for p in PLANTS]
    stock = [p["stock"] for p in PLANTS]
    summary = {
        "mean_price": str(statistics.mean(prices)),
        "median_stock": statistics.median(stock),
        "stdev_stock": round(statistics.stdev(stock), 4),
    }
    return render_template("stats.html", summary=summary)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000, threaded=True)
