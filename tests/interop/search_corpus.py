"""Log records for the search-client interop tests, and the answers computed from them here,
independently of Hydrant: three UTC days (three daily indices) of web requests."""

import datetime as dt
import random

START = dt.datetime(2026, 3, 27, 6, 0, tzinfo=dt.timezone.utc)
SERVICES = ["api", "api", "api", "web", "web", "auth", "billing"]
MESSAGES = {
    True: ["request served", "cache hit served"],
    False: ["upstream timeout talking to the database", "disk full on the data volume"],
}


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def records(n=1200, seed=11):
    """`n` records a few minutes apart, each with a unique `seq`."""
    rng = random.Random(seed)
    t = START
    out = []
    for seq in range(n):
        t += dt.timedelta(seconds=rng.randint(60, 300))
        status = rng.choice([200, 200, 200, 200, 201, 304, 404, 500, 503])
        ok = status < 500
        out.append({
            "@timestamp": iso(t),
            "seq": seq,
            "service": rng.choice(SERVICES),
            "status": status,
            "latency": round(rng.uniform(0.5, 900.0), 3),
            "ok": ok,
            "msg": rng.choice(MESSAGES[ok]),
        })
    return out


def ts(rec):
    return dt.datetime.strptime(rec["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def epoch_ms(t):
    return int(t.timestamp() * 1000)


def day_key(rec):
    """The UTC midnight starting the record's day, in epoch millis (a `1d` calendar bucket)."""
    t = ts(rec)
    return epoch_ms(dt.datetime(t.year, t.month, t.day, tzinfo=dt.timezone.utc))


def terms(recs, field, size):
    """Top `size` values of `field` by count (ties by key), and the count of the others."""
    counts = {}
    for r in recs:
        counts[r[field]] = counts.get(r[field], 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:size], sum(c for _, c in ranked[size:])


def avg(values):
    values = list(values)
    return sum(values) / len(values) if values else None


def search_body(gte, lte):
    """A dashboard-like search: a time range, a terms panel with a mean, a daily histogram with
    a maximum."""
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": [{"range": {"@timestamp": {"gte": iso(gte), "lt": iso(lte)}}}]}},
        "aggs": {
            "services": {
                "terms": {"field": "service.keyword", "size": 3},
                "aggs": {"latency": {"avg": {"field": "latency"}}},
            },
            "per_day": {
                "date_histogram": {"field": "@timestamp", "calendar_interval": "1d"},
                "aggs": {"worst": {"max": {"field": "status"}}},
            },
        },
    }


def check_search(res, recs, gte, lte):
    """Asserts a response to `search_body(gte, lte)` against `recs`."""
    import pytest

    inside = [r for r in recs if gte <= ts(r) < lte]
    assert res["hits"]["total"] == {"value": len(inside), "relation": "eq"}
    top, rest = terms(inside, "service", 3)
    services = res["aggregations"]["services"]
    assert [(b["key"], b["doc_count"]) for b in services["buckets"]] == top
    assert services["sum_other_doc_count"] == rest
    for b in services["buckets"]:
        want = avg(r["latency"] for r in inside if r["service"] == b["key"])
        assert b["latency"]["value"] == pytest.approx(want, rel=1e-9)
    days = {}
    for r in inside:
        days.setdefault(day_key(r), []).append(r)
    got = [(b["key"], b["doc_count"], b["worst"]["value"]) for b in res["aggregations"]["per_day"]["buckets"]]
    want = [(k, len(v), max(r["status"] for r in v)) for k, v in sorted(days.items())]
    assert got == want
    assert len(want) >= 2, "the range crosses a day"


def check_field_caps(caps):
    """`_field_caps` for the corpus: ES's types for dynamically mapped fields, and which of them
    a dashboard can aggregate on."""
    fields = caps["fields"]
    expect = {
        "@timestamp": ("date", True),
        "seq": ("long", True),
        "status": ("long", True),
        "latency": ("float", True),
        "ok": ("boolean", True),
        "service": ("text", False),
        "service.keyword": ("keyword", True),
        "msg": ("text", False),
    }
    for name, (typ, aggregatable) in expect.items():
        assert name in fields, f"{name} missing from {sorted(fields)}"
        assert typ in fields[name], f"{name}: {fields[name]}"
        cap = fields[name][typ]
        assert cap["type"] == typ
        assert cap["searchable"] is True, f"{name}: {cap}"
        assert cap["aggregatable"] is aggregatable, f"{name}: {cap}"
