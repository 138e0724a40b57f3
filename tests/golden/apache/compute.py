#!/usr/bin/env python3
"""Expected answers for the golden search tests, computed without Hydrant.

Reads tests/data/logs/elastic-examples/apache_logs, parses each line into a record
(the same fields tests/search_golden.rs sends to Hydrant, parsed there by its own code), loads
the records into DuckDB and answers each case's question in SQL. Writes cases.json beside this
script: for each case, the Hydrant request and the parts of the response it must contain.

Record fields (the parsing contract both sides follow):
  clientip     first token of the line
  @timestamp   the [dd/Mon/yyyy:HH:MM:SS +zzzz] time, as RFC 3339 UTC
  verb, request, httpversion
               the quoted request line split on spaces when it has exactly three parts
               ("HTTP/1.1" -> httpversion "1.1"); otherwise request is the whole line
  status       the 3-digit code (integer)
  bytes        the size (integer), absent when "-"
  referrer     the first quoted string after the size
  agent        the second quoted string (its closing quote may be missing on the last
               line of a truncated record)

Run: .venv/bin/python tests/golden/apache/compute.py   (from the repository root)
"""

import json
import os
import re
from datetime import datetime, timezone

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
SOURCE = os.path.join(ROOT, "tests/data/logs/elastic-examples/apache_logs")

LINE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "([^"]*)" (\d{3}) (\S+) "([^"]*)" "([^"]*)"?$')


def parse(line):
    m = LINE.match(line)
    if not m:
        raise ValueError(f"unparsable line: {line!r}")
    ip, when, request_line, status, size, referrer, agent = m.groups()
    ts = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z").astimezone(timezone.utc)
    rec = {"clientip": ip, "@timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ")}
    parts = request_line.split(" ")
    if len(parts) == 3:
        rec["verb"], rec["request"] = parts[0], parts[1]
        rec["httpversion"] = parts[2].removeprefix("HTTP/")
    else:
        rec["request"] = request_line
    rec["status"] = int(status)
    if size != "-":
        rec["bytes"] = int(size)
    rec["referrer"] = referrer
    rec["agent"] = agent
    return rec, ts


def load():
    with open(SOURCE, encoding="utf-8") as f:
        lines = f.read().splitlines()
    rows = []
    for line in lines:
        rec, ts = parse(line)
        rows.append((
            int(ts.timestamp() * 1000), rec["clientip"], rec.get("verb"), rec["request"],
            rec["status"], rec.get("bytes"), rec["referrer"], rec["agent"],
        ))
    db = duckdb.connect()
    db.execute(
        "create table logs (ts bigint, clientip varchar, verb varchar, request varchar,"
        " status integer, bytes bigint, referrer varchar, agent varchar)"
    )
    db.executemany("insert into logs values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return db, len(lines)


def q(db, sql):
    return db.execute(sql).fetchall()


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# A token of the default analyzer: runs of letters and digits, lowercased.
def word(col, w):
    return f"regexp_matches(lower({col}), '(^|[^a-z0-9]){w}([^a-z0-9]|$)')"


def cases(db, n):
    out = []

    def case(name, body, expect, path="/web/_search", approx=None):
        c = {"name": name, "path": path, "body": body, "expect": expect}
        if approx is not None:
            c["approx"] = approx
        out.append(c)

    case("count_all", None, {"count": n}, path="/web/_count")
    case("total_hits", {"size": 0, "track_total_hits": True},
         {"hits": {"total": {"value": n, "relation": "eq"}}})

    rows = q(db, "select verb, count(*) c from logs where verb is not null group by verb order by c desc, verb")
    case("terms_verb", {"size": 0, "aggs": {"v": {"terms": {"field": "verb.keyword"}}}},
         {"aggregations": {"v": {"sum_other_doc_count": 0,
                                 "buckets": [{"key": k, "doc_count": c} for k, c in rows]}}})

    rows = q(db, "select status, count(*) c from logs group by status order by c desc, status")
    top = rows[:5]
    rest = sum(c for _, c in rows[5:])
    case("terms_status_top5", {"size": 0, "aggs": {"s": {"terms": {"field": "status", "size": 5}}}},
         {"aggregations": {"s": {"sum_other_doc_count": rest,
                                 "buckets": [{"key": k, "doc_count": c} for k, c in top]}}})

    rows = q(db, "select clientip, count(*) c, coalesce(sum(bytes), 0) b from logs group by clientip"
                 " order by c desc, clientip limit 5")
    case("terms_clientip_with_sum",
         {"size": 0, "aggs": {"ip": {"terms": {"field": "clientip.keyword", "size": 5, "shard_size": 5000},
                                     "aggs": {"b": {"sum": {"field": "bytes"}}}}}},
         {"aggregations": {"ip": {"buckets": [{"key": k, "doc_count": c, "b": {"value": float(b)}}
                                              for k, c, b in rows]}}})

    hour = 3_600_000
    rows = q(db, f"select (ts // {hour}) * {hour} k, count(*) from logs group by k order by k")
    case("date_histogram_hourly",
         {"size": 0, "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h",
                                                      "format": "epoch_millis"}}}},
         {"aggregations": {"h": {"buckets": [{"key": k, "key_as_string": str(k), "doc_count": c}
                                             for k, c in rows]}}})

    day, off = 86_400_000, 19_800_000  # +05:30
    rows = q(db, f"select ((ts + {off}) // {day}) * {day} - {off} k, count(*), avg(bytes) from logs"
                 " group by k order by k")
    case("date_histogram_daily_at_offset_with_avg",
         {"size": 0, "aggs": {"d": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day",
                                                      "time_zone": "+05:30"},
                                    "aggs": {"avg_bytes": {"avg": {"field": "bytes"}}}}}},
         {"aggregations": {"d": {"buckets": [{"key": k, "doc_count": c, "avg_bytes": {"value": a}}
                                             for k, c, a in rows]}}})

    (cnt, mn, mx, avg, sm), = q(db, "select count(bytes), min(bytes), max(bytes), avg(bytes), sum(bytes) from logs")
    case("stats_bytes", {"size": 0, "aggs": {"s": {"stats": {"field": "bytes"}}}},
         {"aggregations": {"s": {"count": cnt, "min": float(mn), "max": float(mx), "avg": avg, "sum": float(sm)}}})

    ranges = [(None, 1000), (1000, 100000), (100000, None)]
    expect = []
    for lo, hi in ranges:
        cond = " and ".join(c for c in [f"bytes >= {lo}" if lo is not None else "",
                                        f"bytes < {hi}" if hi is not None else ""] if c)
        (c,), = q(db, f"select count(*) from logs where {cond}")
        expect.append({"doc_count": c})
    case("range_bytes",
         {"size": 0, "aggs": {"r": {"range": {"field": "bytes", "ranges": [
             {"to": 1000}, {"from": 1000, "to": 100000}, {"from": 100000}]}}}},
         {"aggregations": {"r": {"buckets": expect}}})

    (c,), = q(db, "select count(*) from logs where lower(request) like '%kibana%'")
    case("query_string_wildcard", {"size": 0, "query": {"query_string": {
        "query": "request:*kibana*", "analyze_wildcard": True}}},
         {"hits": {"total": {"value": c, "relation": "eq"}}})

    (c,), = q(db, f"select count(*) from logs where {word('agent', 'googlebot')}")
    case("match_agent_word", {"size": 0, "query": {"match": {"agent": "Googlebot"}}},
         {"hits": {"total": {"value": c, "relation": "eq"}}})

    (c,), = q(db, f"select count(*) from logs where status between 400 and 499 and verb = 'GET'")
    case("bool_range_and_term", {"size": 0, "query": {"bool": {
        "filter": [{"range": {"status": {"gte": 400, "lte": 499}}}, {"term": {"verb.keyword": "GET"}}]}}},
         {"hits": {"total": {"value": c, "relation": "eq"}}})

    (a,), = q(db, "select count(*) from logs where status < 300")
    (b,), = q(db, "select count(*) from logs where status >= 400 and status < 500")
    (o,), = q(db, "select count(*) from logs where not (status < 300) and not (status >= 400 and status < 500)")
    case("filters_with_other_bucket", {"size": 0, "aggs": {"f": {"filters": {
        "other_bucket_key": "other",
        "filters": {"ok": {"range": {"status": {"lt": 300}}},
                    "client_error": {"query_string": {"query": "status:[400 TO 499]"}}}}}}},
         {"aggregations": {"f": {"buckets": {"ok": {"doc_count": a}, "client_error": {"doc_count": b},
                                             "other": {"doc_count": o}}}}})

    rows = q(db, "select ts, request, bytes from logs where bytes is not null order by bytes desc, ts desc limit 3")
    case("sort_by_bytes", {"size": 3, "sort": [{"bytes": "desc"}, {"@timestamp": "desc"}],
                           "_source": ["request", "bytes"]},
         {"hits": {"hits": [{"_source": {"request": r, "bytes": by}, "sort": [by, ts]} for ts, r, by in rows]}})

    (c,), = q(db, "select count(distinct clientip) from logs")
    case("cardinality_clientip", {"size": 0, "aggs": {"c": {"cardinality": {"field": "clientip.keyword"}}}},
         {"aggregations": {"c": {"value": c}}}, approx=0.02)

    (c18,), = q(db, "select count(*) from logs where ts >= 1431907200000 and ts < 1431993600000")
    case("date_range_one_day", {"size": 0, "aggs": {"r": {"date_range": {
        "field": "@timestamp", "ranges": [{"from": "2015-05-18", "to": "2015-05-18||+1d"}]}}}},
         {"aggregations": {"r": {"buckets": [{"doc_count": c18, "from_as_string": "2015-05-18T00:00:00.000Z",
                                             "to_as_string": "2015-05-19T00:00:00.000Z"}]}}})
    return out


def main():
    db, n = load()
    data = {
        "source": "tests/data/logs/elastic-examples/apache_logs",
        "records": n,
        "cases": cases(db, n),
    }
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print(f"{len(data['cases'])} cases over {n} records")


if __name__ == "__main__":
    main()
