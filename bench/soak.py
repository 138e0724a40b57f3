#!/usr/bin/env python3
"""Soak: mixed load for DURATION with a SIGKILL + restart every KILL_EVERY, then an audit.

Run by bench/soak.sh (which builds the binary); run in a session, not in CI. Standard library
only. What runs at once, against one `hydrant serve` on loopback:

- three writers at a fixed rate, one per ingest API (NDJSON, `_bulk`, Firehose
  `PutRecordBatch`), each into its own stream; every record carries a unique `seq`;
- a backfill writer stamping records hours in the past into a fourth stream, whose hourly
  indices the retention must delete again;
- a dashboard polling aggregations and searches over all of it;
- a killer: SIGKILL every KILL_EVERY, restart on the same data directory and port;
- samplers: the server's RSS every 5 s, the data directory's size every 30 s.

At the end the writers stop, delivery drains, and every record of the three ledger streams is
read back (scroll): an acknowledged record missing is LOST, a `seq` found twice is DUPLICATED.
Records whose request died with the server (outcome unknown) may appear once or not at all.
Prints a report and writes it as JSON to bench/out/soak.json; exits 1 when something was lost
or duplicated.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ["HYDRANT_BIN"]
DURATION = float(os.environ.get("DURATION", "1800"))
KILL_EVERY = float(os.environ.get("KILL_EVERY", "300"))
RATE = float(os.environ.get("RATE", "100"))  # records per second per writer
BATCH = 50
OUT = os.environ.get("OUT", "bench/out/soak.json")

CONFIG = """
[defaults]
buffer_interval = "1s"
[defaults.index]
rotation = "OneHour"
retention = "3h"
[streams.soak-nd]
[streams.soak-bulk]
[streams.soak-fh]
[streams.soak-old]
"""
LEDGER_STREAMS = {"nd": "soak-nd", "bulk": "soak-bulk", "fh": "soak-fh"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workdir):
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.config = os.path.join(workdir, "hydrant.toml")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.port = free_port()
        self.proc = None
        self.log = open(os.path.join(workdir, "serve.log"), "ab")
        self.restarts = []

    def start(self):
        began = time.time()
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data,
             "--config", self.config],
            stdout=self.log, stderr=self.log,
            env={k: v for k, v in os.environ.items() if not k.startswith("HYDRANT_")},
        )
        while time.time() - began < 120:
            try:
                status, _ = request("GET", self.port, "/_cluster/health", timeout=2)
                if status == 200:
                    return time.time() - began
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("hydrant did not start")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


def request(method, port, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data
    finally:
        conn.close()


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()
        self.unknown = set()
        self.refused = 0
        self.sent = 0


def writer(api, server, ledger, stop):
    seq = 0
    interval = BATCH / RATE
    next_at = time.time()
    stream = LEDGER_STREAMS[api]
    while not stop.is_set():
        next_at += interval
        seqs = list(range(seq, seq + BATCH))
        seq += BATCH
        docs = [{"seq": s, "api": api, "msg": f"GET /item/{s % 977} soak {api}", "status": 200 + s % 4,
                 "bytes": s % 10007} for s in seqs]
        try:
            if api == "nd":
                body = "".join(json.dumps(d) + "\n" for d in docs)
                status, data = request("POST", server.port, f"/v1/streams/{stream}/records", body,
                                       {"content-type": "application/x-ndjson"})
                ok = status == 200 and not json.loads(data).get("errors")
                taken = seqs if ok else []
            elif api == "bulk":
                body = "".join('{"index":{}}\n' + json.dumps(d) + "\n" for d in docs)
                status, data = request("POST", server.port, f"/{stream}/_bulk", body,
                                       {"content-type": "application/x-ndjson"})
                items = json.loads(data).get("items", []) if status == 200 else []
                taken = [s for s, it in zip(seqs, items) if it["index"].get("status") == 201]
            else:
                records = [{"Data": base64.b64encode(json.dumps(d).encode()).decode()} for d in docs]
                body = json.dumps({"DeliveryStreamName": stream, "Records": records})
                status, data = request("POST", server.port, "/", body,
                                       {"content-type": "application/x-amz-json-1.1",
                                        "x-amz-target": "Firehose_20150804.PutRecordBatch"})
                answers = json.loads(data).get("RequestResponses", []) if status == 200 else []
                taken = [s for s, a in zip(seqs, answers) if "RecordId" in a]
            with ledger.lock:
                ledger.sent += len(seqs)
                ledger.acked.update(taken)
                ledger.refused += len(seqs) - len(taken)
        except (OSError, http.client.HTTPException, ValueError):
            # The server died under the request: its outcome is unknown.
            with ledger.lock:
                ledger.sent += len(seqs)
                ledger.unknown.update(seqs)
            time.sleep(0.2)
        delay = next_at - time.time()
        if delay > 0:
            time.sleep(delay)
        else:
            next_at = time.time()


def backfill(server, stop, counts):
    """Records stamped 5 to 8 hours ago: hourly indices the retention (3h) must delete."""
    while not stop.is_set():
        ts = int((time.time() - 3600 * (5 + (counts["old"] % 4))) * 1000)
        body = "".join('{"index":{}}\n' + json.dumps({"@timestamp": ts, "old": True}) + "\n" for _ in range(20))
        try:
            status, _ = request("POST", server.port, "/soak-old/_bulk", body,
                                {"content-type": "application/x-ndjson"})
            if status == 200:
                counts["old"] += 1
        except (OSError, http.client.HTTPException):
            pass
        stop.wait(2)


DASHBOARD = [
    ("/soak-*/_search", {"size": 0, "query": {"range": {"@timestamp": {"gte": "now-15m"}}},
                         "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "30s"},
                                        "aggs": {"b": {"avg": {"field": "bytes"}}}},
                                  "s": {"terms": {"field": "status", "size": 5}}}}),
    ("/soak-*/_search", {"size": 20, "sort": [{"@timestamp": "desc"}],
                         "query": {"query_string": {"query": "msg:soak AND status:[200 TO 201]"}}}),
    ("/soak-nd,soak-fh/_count", {"query": {"term": {"status": 202}}}),
]


def dashboard(server, stop, stats):
    while not stop.is_set():
        for path, body in DASHBOARD:
            began = time.time()
            try:
                status, _ = request("POST", server.port, path, json.dumps(body),
                                    {"content-type": "application/json"})
                stats["queries"] += 1
                stats["latencies"].append(time.time() - began)
                if status != 200:
                    stats["errors"][str(status)] = stats["errors"].get(str(status), 0) + 1
            except (OSError, http.client.HTTPException):
                stats["connection_errors"] += 1
        stop.wait(1)


def metric_sum(port, prefix):
    _, data = request("GET", port, "/_hydrant/metrics")
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith(prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total


def read_back(port, stream):
    """Every `seq` of `stream`, with repetitions (a scroll over all of it)."""
    seqs = []
    body = json.dumps({"size": 10000, "_source": ["seq"], "sort": ["_doc"]})
    status, data = request("POST", port, f"/{stream}/_search?scroll=2m", body,
                           {"content-type": "application/json"}, timeout=300)
    page = json.loads(data)
    while True:
        hits = page["hits"]["hits"]
        if not hits:
            break
        seqs.extend(h["_source"]["seq"] for h in hits)
        status, data = request("POST", port, "/_search/scroll",
                               json.dumps({"scroll": "2m", "scroll_id": page["_scroll_id"]}),
                               {"content-type": "application/json"}, timeout=300)
        page = json.loads(data)
    return seqs


def main():
    workdir = tempfile.mkdtemp(prefix="hydrant-soak-")
    server = Server(workdir)
    server.restarts.append(server.start())
    stop = threading.Event()
    ledgers = {api: Ledger() for api in LEDGER_STREAMS}
    counts = {"old": 0}
    dash = {"queries": 0, "latencies": [], "errors": {}, "connection_errors": 0}
    threads = [threading.Thread(target=writer, args=(api, server, ledgers[api], stop)) for api in LEDGER_STREAMS]
    threads.append(threading.Thread(target=backfill, args=(server, stop, counts)))
    threads.append(threading.Thread(target=dashboard, args=(server, stop, dash)))
    for t in threads:
        t.start()

    began = time.time()
    rss = []  # (seconds, cycle, KiB)
    disk = []  # (seconds, data bytes, wal bytes)
    cycle, last_kill, last_disk = 0, began, 0.0
    while time.time() - began < DURATION:
        time.sleep(5)
        now = time.time() - began
        kib = server.rss_kib()
        if kib:
            rss.append((round(now), cycle, kib))
        if now - last_disk >= 30:
            last_disk = now
            disk.append((round(now), dir_bytes(server.data), dir_bytes(os.path.join(server.data, "wal"))))
        if time.time() - last_kill >= KILL_EVERY and time.time() - began < DURATION - 30:
            server.kill9()
            server.restarts.append(server.start())
            cycle += 1
            last_kill = time.time()
    stop.set()
    for t in threads:
        t.join()

    # Drain: everything accepted delivered, then read back.
    deadline = time.time() + 600
    while metric_sum(server.port, "hydrant_buffered_bytes{") > 0 and time.time() < deadline:
        time.sleep(1)
    request("POST", server.port, "/_refresh")
    report = {"duration_s": DURATION, "kill_every_s": KILL_EVERY, "kills": cycle,
              "restart_s": [round(r, 2) for r in server.restarts], "streams": {}}
    lost_total = dup_total = 0
    for api, stream in LEDGER_STREAMS.items():
        found = read_back(server.port, stream)
        counts_by_seq = {}
        for s in found:
            counts_by_seq[s] = counts_by_seq.get(s, 0) + 1
        led = ledgers[api]
        lost = sorted(led.acked - counts_by_seq.keys())
        dups = sorted(s for s, n in counts_by_seq.items() if n > 1)
        stray = sorted(counts_by_seq.keys() - led.acked - led.unknown)
        lost_total += len(lost)
        dup_total += len(dups) + len(stray)
        report["streams"][stream] = {
            "sent": led.sent, "acknowledged": len(led.acked), "unknown": len(led.unknown),
            "refused": led.refused, "found": len(found), "lost": len(lost), "duplicated": len(dups),
            "never_acknowledged_but_found": len(stray),
            "unknown_found": len(led.unknown & counts_by_seq.keys()),
            "lost_examples": lost[:5], "duplicated_examples": dups[:5],
        }
    # RSS: the peak of each kill cycle; after the first (warm-up), flat within 10 %?
    peaks = {}
    for _, c, kib in rss:
        peaks[c] = max(peaks.get(c, 0), kib)
    steady = [peaks[c] for c in sorted(peaks) if c >= 1]
    report["rss_peak_mib_per_cycle"] = [round(peaks[c] / 1024, 1) for c in sorted(peaks)]
    report["rss_flat_within_10pct"] = bool(steady) and max(steady) <= 1.10 * min(steady)
    # The median of each cycle's second half: where a cycle settles, short spikes aside.
    medians = []
    for c in sorted(peaks):
        samples = [kib for _, cc, kib in rss if cc == c]
        half = sorted(samples[len(samples) // 2:])
        medians.append(round(half[len(half) // 2] / 1024, 1) if half else None)
    report["rss_settled_mib_per_cycle"] = medians
    report["data_dir_mib"] = [(t, round(d / 2**20, 1), round(w / 2**20, 1)) for t, d, w in disk]
    _, cat = request("GET", server.port, "/_cat/indices/soak-old*?format=json")
    old_indices = json.loads(cat)
    report["backfill_requests"] = counts["old"]
    report["expired_indices_left"] = [i["index"] for i in old_indices]
    report["wal_mib_at_end"] = round(dir_bytes(os.path.join(server.data, "wal")) / 2**20, 2)
    lat = sorted(dash["latencies"])
    report["dashboard"] = {
        "queries": dash["queries"], "errors": dash["errors"], "connection_errors": dash["connection_errors"],
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
        "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1) if lat else None,
    }
    server.kill9()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    ok = lost_total == 0 and dup_total == 0
    print(f"soak: {'PASS' if ok else 'FAIL'}: lost {lost_total}, duplicated {dup_total}; "
          f"RSS per cycle {report['rss_peak_mib_per_cycle']} MiB; work dir {workdir}")
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
