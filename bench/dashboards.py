"""Dashboards refreshing against Hydrant until told to stop (run by bench/contention.sh).

Usage: dashboards.py URL INDEX DASHBOARDS INTERVAL_S STOP_FILE

Each dashboard is a thread loading the query bench's six aggregation panels in one `_msearch`
every INTERVAL_S seconds (at once if a load took longer), over the last 24 hours up to now in
epoch milliseconds: the range moves on every refresh, as Grafana's and Kibana's do, so no load
is answered from the request cache. Prints {loads, p50_ms, p99_ms, errors} as JSON when
STOP_FILE appears.
"""

import json
import os
import statistics
import sys
import threading
import time

import requests

from panels import msearch_body

url, index, count, interval, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
lock = threading.Lock()
latencies, errors = [], [0]


def dashboard():
    http = requests.Session()
    while not os.path.exists(stop):
        start = time.perf_counter()
        now = int(time.time() * 1000)
        query = {"range": {"@timestamp": {"gte": now - 86_400_000, "lte": now, "format": "epoch_millis"}}}
        body = msearch_body(index, query)
        try:
            r = http.post(f"{url}/_msearch", data=body, headers={"content-type": "application/x-ndjson"}, timeout=120)
            failed = r.status_code != 200 or any("error" in x for x in r.json()["responses"])
        except requests.RequestException:
            failed = True
        took = time.perf_counter() - start
        with lock:
            latencies.append(took * 1000)
            errors[0] += failed
        deadline = start + interval
        while not os.path.exists(stop) and time.perf_counter() < deadline:
            time.sleep(0.05)


threads = [threading.Thread(target=dashboard) for _ in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
xs = sorted(latencies) or [0.0]
print(json.dumps({
    "loads": len(latencies),
    "p50_ms": statistics.median(xs),
    "p99_ms": xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))],
    "errors": errors[0],
}))
