"""Helpers for the tests that run Hydrant against a real OpenSearch 2.19.6 node
(tests/opensearch/opensearch.sh): the node itself (start, SIGKILL, restart on the same data and
port), `hydrant serve` with kill -9 and restart, reading the error output, a forwarding proxy
that can record what passes (a `_bulk` tap) or verify SigV4 signatures (an IAM-protected
domain's front), and waiting for conditions with deadlines."""

import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import BIN, ROOT

OPENSEARCH_SH = os.path.join(ROOT, "tests/opensearch/opensearch.sh")


def wait_until(what, check, timeout, interval=0.2):
    """Polls `check()` until it returns something truthy (returned) or `timeout` seconds pass
    (AssertionError naming `what` and the last value seen)."""
    deadline = time.time() + timeout
    last = None
    while True:
        try:
            last = check()
        except (requests.RequestException, OSError) as e:  # a server restarting
            last = e
        else:
            if last:
                return last
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# ============================================================================================
# OpenSearch


class OpenSearchNode:
    """A node started by opensearch.sh, stopped by itself if this process dies (--watch-pid)."""

    def __init__(self, settings=()):
        self.settings = list(settings)
        self.url = self.dir = self.pid = None
        self._script("start")

    def _script(self, command, *args):
        opts = ["--watch-pid", str(os.getpid())]
        for s in self.settings:
            opts += ["--setting", s]
        t0 = time.time()
        out = subprocess.run(["bash", OPENSEARCH_SH, command, *args, *opts],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"opensearch.sh {command} failed:\n{out.stderr[-4000:]}")
        kv = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        self.url, self.pid, self.dir = kv["url"], int(kv["pid"]), kv["dir"]
        self.started_in = time.time() - t0

    def kill9(self):
        subprocess.run(["bash", OPENSEARCH_SH, "kill9", self.dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def restart(self):
        """Starts again on the same data directory and port (after kill9)."""
        self._script("restart", self.dir)

    def stop(self):
        if self.dir:
            subprocess.run(["bash", OPENSEARCH_SH, "stop", self.dir], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.dir = None

    @property
    def alive(self):
        return self.dir is not None

    # ---- HTTP (no session: connections must not outlive a restart)

    def request(self, method, path, body=None, **params):
        r = requests.request(method, self.url + path, json=body, params=params or None, timeout=60)
        return r

    def ok(self, method, path, body=None, **params):
        r = self.request(method, path, body, **params)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        return r.json()

    def bulk(self, lines):
        data = "".join(json.dumps(line) + "\n" for line in lines)
        r = requests.post(self.url + "/_bulk", data=data, timeout=60,
                          headers={"content-type": "application/x-ndjson"})
        assert r.status_code == 200, r.text[:2000]
        return r.json()

    def count(self, target):
        """Documents in `target` after a refresh (0 when it does not exist yet)."""
        self.request("POST", f"/{target}/_refresh", allow_no_indices="true", ignore_unavailable="true")
        r = self.request("GET", f"/{target}/_count", allow_no_indices="true", ignore_unavailable="true")
        return r.json()["count"] if r.status_code == 200 else 0

    def indices(self, pattern):
        """{index name: docs.count} of the indices matching `pattern`, after a refresh."""
        self.request("POST", f"/{pattern}/_refresh", allow_no_indices="true")
        r = self.request("GET", f"/_cat/indices/{pattern}", format="json", h="index,docs.count")
        if r.status_code == 404:
            return {}
        assert r.status_code == 200, r.text
        return {row["index"]: int(row["docs.count"]) for row in r.json()}

    def docs(self, target):
        """Every document of `target` (refreshed first): dicts with _index, _id, _version and
        _source, read with a scroll."""
        self.request("POST", f"/{target}/_refresh")
        page = self.ok("POST", f"/{target}/_search", {"size": 2000, "version": True, "sort": ["_doc"]},
                       scroll="1m")
        out = []
        while page["hits"]["hits"]:
            out.extend(page["hits"]["hits"])
            page = self.ok("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": page["_scroll_id"]})
        self.request("DELETE", "/_search/scroll", {"scroll_id": page["_scroll_id"]})
        return out

    def write_rejections(self):
        stats = self.ok("GET", "/_nodes/stats/thread_pool")
        return sum(n["thread_pool"]["write"]["rejected"] for n in stats["nodes"].values())


class Nodes:
    """At most one node at a time (a 2-core machine): the shared node most tests use, or a node
    with other settings, which replaces it until a test asks for the shared one again."""

    def __init__(self):
        self.current = None
        self.current_settings = None

    def get(self, settings=()):
        settings = tuple(settings)
        if self.current is not None and (self.current_settings != settings or not self.current.alive):
            self.current.stop()
            self.current = None
        if self.current is None:
            self.current = OpenSearchNode(settings)
            self.current_settings = settings
        return self.current

    def stop(self):
        if self.current is not None:
            self.current.stop()
            self.current = None


# ============================================================================================
# Hydrant


class HydrantServer:
    """`hydrant serve` with a config file and its own data directory, restartable on that
    directory after a SIGKILL."""

    def __init__(self, config_text):
        self.tmp = tempfile.TemporaryDirectory(prefix="hydrant-os-interop.")
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.config = os.path.join(self.tmp.name, "hydrant.toml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.logs = []
        self.proc = None
        self.url = None
        self.start()

    def start(self):
        # `serve` reads every HYDRANT_* variable as a configuration key: pass none of ours.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRANT_")}
        env.update(HYDRANT_LOG="info,tantivy=warn", NO_COLOR="1")
        args = [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir, "--config", self.config]
        for attempt in range(20):  # the binary may be being rewritten by a build
            try:
                self.proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE,
                                             stdout=subprocess.DEVNULL, text=True)
                break
            except OSError:
                if attempt == 19:
                    raise
                time.sleep(3)
        found = threading.Event()
        proc = self.proc

        def pump():
            for line in proc.stderr:
                self.logs.append(line.rstrip("\n"))
                m = re.search(r"listening on (http://[0-9.:]+)", line)
                if m and not found.is_set():
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + 60
        while not found.wait(0.05):
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"hydrant did not start (exit {proc.returncode}):\n" + self.log_text())

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        self.tmp.cleanup()

    def log_text(self):
        return "\n".join(self.logs)

    # ---- API

    def ship_ndjson(self, stream, docs):
        body = "".join(json.dumps(d) + "\n" for d in docs)
        r = requests.post(f"{self.url}/v1/streams/{stream}/records", data=body.encode(), timeout=60,
                          headers={"content-type": "application/x-ndjson"})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["accepted"] == len(docs), answer
        return answer

    def ship_bulk(self, stream, docs, ids=None, timeout=60):
        """`_bulk` of `docs` into `stream` (with `ids` as `_id`s if given): the `_id` Hydrant
        answered for each document taken (201), None for the others."""
        lines = []
        for i, doc in enumerate(docs):
            meta = {"_index": stream}
            if ids is not None:
                meta["_id"] = ids[i]
            lines.append(json.dumps({"index": meta}))
            lines.append(json.dumps(doc))
        r = requests.post(f"{self.url}/_bulk", data=("\n".join(lines) + "\n").encode(), timeout=timeout,
                          headers={"content-type": "application/x-ndjson"})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) == len(docs)
        return [i["index"]["_id"] if i["index"]["status"] == 201 else None for i in items]

    def metrics(self):
        r = requests.get(f"{self.url}/_hydrant/metrics", timeout=30)
        r.raise_for_status()
        out = {}
        for line in r.text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def es_metric(self, name, stream):
        return self.metrics().get(f'hydrant_{name}{{stream="{stream}",destination="elasticsearch"}}', 0.0)

    def buffered(self, stream):
        return self.metrics().get(f'hydrant_buffered_bytes{{stream="{stream}"}}', 0.0)

    def error_records(self):
        """Every failure record of the error output (local object storage under data_dir/objects):
        (key, record) pairs."""
        root = os.path.join(self.data_dir, "objects")
        out = []
        for d, _, files in os.walk(root):
            for name in sorted(files):
                path = os.path.join(d, name)
                key = os.path.relpath(path, root)
                with open(path, "rb") as f:
                    raw = f.read()
                if name.endswith(".gz"):
                    raw = gzip.decompress(raw)
                out.extend((key, json.loads(line)) for line in raw.decode().splitlines() if line)
        return out


def raw_data(record):
    """The record bytes a failure record carries."""
    return base64.b64decode(record["rawData"])


class Shipper(threading.Thread):
    """Ships `_bulk` requests of `batch` documents {"seq": n, ...} to a stream until stopped,
    `limit` documents were sent, or (with `stop_on_error`) a request fails; remembers the `_id`
    and seq of every document Hydrant acknowledged."""

    def __init__(self, server, stream, batch=200, limit=20_000, pause=0.02, stop_on_error=True):
        super().__init__(daemon=True)
        self.server, self.stream, self.batch, self.limit = server, stream, batch, limit
        self.pause, self.stop_on_error = pause, stop_on_error
        self.acked = {}  # _id -> seq
        self.sent = 0
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        seq = 0
        while not self.stopping.is_set() and seq < self.limit:
            docs = [{"seq": n, "msg": f"event {n}", "pad": "x" * 200} for n in range(seq, seq + self.batch)]
            try:
                ids = self.server.ship_bulk(self.stream, docs, timeout=30)
            except (requests.RequestException, AssertionError) as e:
                self.errors.append(repr(e))
                if self.stop_on_error:
                    break
                time.sleep(0.2)
                continue
            finally:
                seq += self.batch
                self.sent = seq
            for doc, i in zip(docs, ids):
                if i is not None:
                    self.acked[i] = doc["seq"]
            time.sleep(self.pause)

    def stop(self):
        self.stopping.set()
        self.join(60)


# ============================================================================================
# A forwarding proxy: a `_bulk` tap, or a SigV4-verifying front


def sigv4_check(credentials, region, service, method, target, headers, body):
    """(ok, why): recomputes the request's signature with botocore's SigV4Auth from what
    arrived (as an IAM-protected domain does) and compares."""
    auth_header = headers.get("Authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth_header)
    if not m:
        return False, "no SigV4 Authorization header"
    key_id, _date, got_region, got_service, signed, signature = m.groups()
    if key_id != credentials[0]:
        return False, f"unknown access key {key_id}"
    if (got_region, got_service) != (region, service):
        return False, f"credential scope {got_region}/{got_service}"
    if headers.get("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest()) != hashlib.sha256(body).hexdigest():
        return False, "body hash mismatch"
    names = signed.split(";")
    request = AWSRequest(method=method, url="http://" + headers["Host"] + target, data=body,
                         headers={k: v for k, v in headers.items() if k.lower() in names})
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    auth = SigV4Auth(Credentials(credentials[0], credentials[1], headers.get("X-Amz-Security-Token")),
                     service, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if expected != signature:
        return False, "signature mismatch"
    return True, "ok"


HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "host", "content-length"}


class Forwarder:
    """A threaded HTTP server on loopback that forwards every request, target byte for byte, to
    `upstream` (http://host:port) and returns its answer unchanged (status, headers, body,
    Content-Encoding included). `verify(method, target, headers, body)` -> (ok, why) refuses
    with 403 before forwarding; `observe(method, target, headers, body, status, resp_headers,
    resp_body)` sees every exchange."""

    def __init__(self, upstream, verify=None, observe=None):
        self.upstream = upstream.replace("http://", "")
        self.verify, self.observe = verify, observe
        self.refused = []
        forwarder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status, headers, body):
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self):
                body = self._body()
                if forwarder.verify is not None:
                    ok, why = forwarder.verify(self.command, self.path, self.headers, body)
                    if not ok:
                        forwarder.refused.append((self.command, self.path, why))
                        data = json.dumps({"message": f"The request signature we calculated does not match: {why}"})
                        self._reply(403, [("Content-Type", "application/json")], data.encode())
                        return
                host, port = forwarder.upstream.rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=120)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    conn.putheader("Host", forwarder.upstream)
                    for k, v in self.headers.items():
                        if k.lower() not in HOP_BY_HOP:
                            conn.putheader(k, v)
                    if body or self.command in ("POST", "PUT"):
                        conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body or None)
                    resp = conn.getresponse()
                    status, headers, data = resp.status, resp.getheaders(), resp.read()
                except OSError as e:
                    status, headers, data = 502, [("Content-Type", "text/plain")], f"upstream: {e}".encode()
                finally:
                    conn.close()
                if forwarder.observe is not None:
                    forwarder.observe(self.command, self.path, self.headers, body, status, headers, data)
                self._reply(status, headers, data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        self.url = "http://" + self.addr
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def decoded(headers, body):
    """A body with its Content-Encoding (gzip) undone; `headers` a mapping or (k, v) pairs."""
    items = headers.items() if hasattr(headers, "items") else headers
    if any(k.lower() == "content-encoding" and v.lower() == "gzip" for k, v in items):
        return gzip.decompress(body)
    return body


class BulkTap:
    """Observes `_bulk` exchanges through a Forwarder: per request, the `_id`s sent and the
    status the cluster gave each (the request's status when it failed whole)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.exchanges = []  # (request status, [(id, item status)])

    def __call__(self, method, target, headers, body, status, resp_headers, resp_body):
        if "_bulk" not in target:
            return
        lines = decoded(headers, body).decode().splitlines()
        ids = [next(iter(json.loads(a).values())).get("_id") for a in lines[0::2]]
        if status == 200:
            items = json.loads(decoded(resp_headers, resp_body))["items"]
            result = [(i, next(iter(item.values()))["status"]) for i, item in zip(ids, items)]
        else:
            result = [(i, status) for i in ids]
        with self.lock:
            self.exchanges.append((status, result))
