"""The dashboard the query benchmarks load: six aggregation panels in one `_msearch`, as Grafana
and Kibana load a dashboard (used by query.py and dashboards.py)."""

import json


def _hist(interval, sub):
    return {"date_histogram": {"field": "@timestamp", "fixed_interval": interval}, "aggs": sub}


PANELS = [
    {"terms": {"field": "service.keyword", "size": 10}},
    _hist("1m", {"lat": {"avg": {"field": "latency_ms"}}}),
    _hist("1h", {"lat": {"avg": {"field": "latency_ms"}}}),
    _hist("1h", {"s": {"terms": {"field": "service.keyword", "size": 5}}}),
    {"percentiles": {"field": "latency_ms", "percents": [50, 95, 99]}},
    {"cardinality": {"field": "service.keyword"}},
]


def msearch_body(index, query=None):
    """The `_msearch` NDJSON of the panels on `index`, each with `query` if given."""
    lines = []
    for panel in PANELS:
        body = {"size": 0, "aggs": {"p": panel}}
        if query is not None:
            body["query"] = query
        lines.append(json.dumps({"index": index}) + "\n" + json.dumps(body) + "\n")
    return "".join(lines)
