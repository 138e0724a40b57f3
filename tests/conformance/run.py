#!/usr/bin/env python3
"""Differential conformance suite: the same documents in Hydrant and in a real OpenSearch
2.19.6 node, the same requests (cases/*.json) to both, the answers compared after
normalisation (see README.md in this folder for the rules).

Prints a table per feature (agrees / differs / known / unsupported), writes a JSON report with
every differing case's two answers, and exits 1 if a case differs that
docs/known-differences.md does not list (2 on a setup failure).

    run.py [--hydrant-bin PATH] [--opensearch-url URL] [--only GLOB] [--report PATH] [-v]
"""

import argparse
import copy
import datetime
import fnmatch
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import requests

import docs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = docs.ROOT
KNOWN_FILE = os.path.join(ROOT, "docs/known-differences.md")
# Differences found and not fixed yet: named here so that none is silent and a new one fails the
# run. Each is a bug or an open decision, not an intention (those go in KNOWN_FILE).
OPEN_FILE = os.path.join(HERE, "open-differences.txt")
OPENSEARCH_SH = os.path.join(ROOT, "tests/opensearch/opensearch.sh")

# Tolerances (relative; an absolute floor for values near zero).
REL_METRIC = 1e-9  # metric aggregation values (avg, sum, stats, ...)
REL_APPROX = 0.05  # percentiles and cardinality: both engines use sketches (TDigest/HLL++ in OpenSearch)
REL_SCORE = 1e-4  # _score, in the few cases that compare it ("score": true): float32 in both
ABS_FLOOR = 1e-12

BULK_CHUNK = 1000
TIMEOUT = 60


# ============================================================================================
# servers


class OpenSearch:
    def __init__(self, url=None):
        self.dir = None
        self.url = url
        if url:
            return
        t0 = time.time()
        out = subprocess.run(
            ["bash", OPENSEARCH_SH, "start", "--watch-pid", str(os.getpid())],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError("opensearch.sh start failed:\n" + out.stderr[-4000:])
        kv = dict(line.split("=", 1) for line in out.stdout.split("\n") if "=" in line)
        self.url, self.dir = kv["url"], kv["dir"]
        log(f"opensearch {self.url} started in {time.time() - t0:.1f} s")

    def stop(self):
        if self.dir:
            subprocess.run(["bash", OPENSEARCH_SH, "stop", self.dir], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.dir = None


class Hydrant:
    def __init__(self, binary, config_text):
        self.binary = binary
        self.tmp = tempfile.TemporaryDirectory(prefix="hydrant-conformance.")
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.config = os.path.join(self.tmp.name, "hydrant.toml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.logs = []
        self.proc = None
        self.url = None
        self.restarts = 0
        self.start()

    def start(self):
        # Hydrant reads every HYDRANT_* variable as a configuration key (HYDRANT_BIN would be
        # the unknown key `bin`): pass none of the caller's.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRANT_")}
        env.update(HYDRANT_LOG="info,tantivy=warn", NO_COLOR="1")
        args = [self.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
                "--config", self.config]
        for attempt in range(20):  # the binary may be being rewritten by a build: retry
            try:
                self.proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE,
                                             stdout=subprocess.DEVNULL, text=True)
                break
            except OSError as e:  # ETXTBSY / ENOENT while cargo writes it
                if attempt == 19:
                    raise
                log(f"cannot run {self.binary} ({e}); retrying")
                time.sleep(3)
        found = threading.Event()

        def pump(proc):
            for line in proc.stderr:
                self.logs.append(line.rstrip("\n"))
                del self.logs[:-20000]
                m = re.search(r"listening on (http://[0-9.:]+)", line)
                if m and not found.is_set():
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=pump, args=(self.proc,), daemon=True).start()
        deadline = time.time() + 60
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("hydrant did not start:\n" + "\n".join(self.logs[-50:]))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


def opensearch_alive(session, url):
    try:
        return session.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ============================================================================================
# loading


def bulk_body(index, records):
    lines = []
    for _id, rec in records:
        lines.append(json.dumps({"index": {"_index": index, "_id": _id}}))
        lines.append(json.dumps(rec, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def bulk_outcome(resp_json):
    out = []
    for item in resp_json.get("items", []):
        (action, r), = item.items()
        err = r.get("error")
        out.append({"status": r.get("status"),
                    "error": err.get("type") if isinstance(err, dict) else None,
                    "reason": (err.get("reason") if isinstance(err, dict) else None)})
    return out


def load_all(os_url, hy, session):
    """Loads every document set into both and returns the ingest cases' results.

    Both end up holding the same records, those both accepted, so that the query cases
    compare query semantics and not ingest: each record goes to OpenSearch first; those it
    accepts go to Hydrant's stream, those it refuses to a `probe_` stream of the same mapping
    (deleted afterwards) to learn whether Hydrant refuses them too; records Hydrant refuses
    are then deleted from OpenSearch. Every record's two outcomes make the `ingest` cases."""
    results = []
    hdr = {"content-type": "application/x-ndjson"}

    def hy_bulk(index, chunk):
        if not chunk:
            return []
        r = session.post(f"{hy.url}/_bulk", params={"refresh": "wait_for"}, data=bulk_body(index, chunk),
                         headers=hdr, timeout=TIMEOUT)
        if r.status_code != 200:
            raise RuntimeError(f"hydrant _bulk into {index}: {r.status_code} {r.text[:2000]}")
        return bulk_outcome(r.json())

    for index, dataset, mapping in docs.loads():
        t0 = time.time()
        body = {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}
        if mapping:
            body["mappings"] = mapping
        r = session.put(f"{os_url}/{index}", json=body, timeout=TIMEOUT)
        if r.status_code != 200:
            raise RuntimeError(f"creating {index} in OpenSearch: {r.status_code} {r.text}")
        records = docs.documents(dataset)
        os_items, hy_items = [], []
        probe = docs.PROBE_PREFIX + index
        probed = False
        for i in range(0, len(records), BULK_CHUNK):
            chunk = records[i:i + BULK_CHUNK]
            r = session.post(f"{os_url}/_bulk", data=bulk_body(index, chunk), headers=hdr, timeout=TIMEOUT)
            r.raise_for_status()
            got = bulk_outcome(r.json())
            os_items += got
            ok = [rec for rec, a in zip(chunk, got) if a["status"] in (200, 201)]
            refused = [rec for rec, a in zip(chunk, got) if a["status"] not in (200, 201)]
            probed = probed or bool(refused)
            res = dict(zip([x[0] for x in ok], hy_bulk(index, ok)))
            res.update(zip([x[0] for x in refused], hy_bulk(probe, refused)))
            hy_items += [res[doc_id] for doc_id, _ in chunk]
        for (doc_id, _), a, b in zip(records, os_items, hy_items):
            if a["status"] in (200, 201) and b["status"] not in (200, 201):
                session.delete(f"{os_url}/{index}/_doc/{doc_id}", timeout=TIMEOUT).raise_for_status()
        session.post(f"{os_url}/{index}/_refresh", timeout=TIMEOUT).raise_for_status()
        if probed:
            r = session.delete(f"{hy.url}/{probe}", timeout=TIMEOUT)
            if r.status_code != 200:
                log(f"could not delete Hydrant's {probe}: {r.status_code} {r.text[:300]}")
        results.append((index, records, os_items, hy_items))
        log(f"loaded {index}: {len(records)} records in {time.time() - t0:.1f} s")
    return results


def ingest_cases(results):
    cases = []
    for index, records, os_items, hy_items in results:
        diffs = []
        both = {"os": [], "hydrant": []}
        for (doc_id, rec), a, b in zip(records, os_items, hy_items):
            if (a["status"], a["error"]) != (b["status"], b["error"]):
                why = a["reason"] or b["reason"] or ""
                diffs.append(f"{doc_id} ({rec.get('kind', '')}): opensearch {a['status']} {a['error'] or ''}"
                             f" vs hydrant {b['status']} {b['error'] or ''} [{why[:150]}]")
                both["os"].append({"_id": doc_id, **a})
                both["hydrant"].append({"_id": doc_id, **b})
        if len(os_items) != len(hy_items):
            diffs.append(f"item counts: {len(os_items)} vs {len(hy_items)}")
        cases.append({
            "id": f"ingest-{index}", "feature": "ingest", "target": index,
            "request": {"method": "POST", "path": "/_bulk", "note": f"{len(records)} records"},
            "outcome": "differs" if diffs else "agrees", "diffs": diffs,
            "opensearch": both["os"], "hydrant": both["hydrant"],
        })
    return cases


# ============================================================================================
# cases


def load_cases():
    cases = []
    seen = set()
    files = []
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        files.append((bool(data.get("run_last")), path, data))
    for _, path, data in sorted(files, key=lambda x: (x[0], x[1])):
        defaults = data.get("defaults", {})
        for c in data["cases"]:
            c = {**defaults, **c}
            c.setdefault("feature", data.get("feature"))
            c["file"] = os.path.basename(path)
            targets = c.pop("targets", None)
            if targets:
                for t in targets:
                    cc = copy.deepcopy(c)
                    cc["target"] = t
                    cc["id"] = f"{c['id']}@{t}"
                    cases.append(cc)
            else:
                cases.append(c)
    for c in cases:
        if c["id"] in seen:
            raise SystemExit(f"duplicate case id {c['id']}")
        seen.add(c["id"])
    return cases


def strip_es8_only(body):
    """The request as OpenSearch 2 takes it: without the Elasticsearch 8 keys it refuses and
    that cannot change the answer here (every field of these loads is mapped)."""
    if body.get("runtime_mappings") == {}:
        del body["runtime_mappings"]
    if isinstance(body.get("fields"), list):
        body["fields"] = [{k: v for k, v in f.items() if k != "include_unmapped"} if isinstance(f, dict) else f
                          for f in body["fields"]]
    return body


def build_request(case, side_prev, side):
    """(method, path, params, data bytes or None, headers) for one side; side_prev holds that
    side's earlier answers (by case id), for chained cases."""
    target = case.get("target", "")
    path = case.get("path", "/{target}/_search").replace("{target}", target)
    params = dict(case.get("params", {}))
    headers = {}
    data = None
    body = copy.deepcopy(case.get("body"))
    if side == "os" and case.get("es8_only") and isinstance(body, dict):
        body = strip_es8_only(body)
    chain = case.get("chain")
    if chain:
        prev = side_prev.get(chain["from"])
        prev = prev[1] if prev else None
        if chain["use"] == "search_after":
            hits = (prev or {}).get("hits", {}).get("hits", [])
            body["search_after"] = hits[-1]["sort"] if hits and "sort" in hits[-1] else [0]
        elif chain["use"] == "scroll_id":
            body["scroll_id"] = (prev or {}).get("_scroll_id", "missing")
    if "ndjson" in case:
        data = ("\n".join(json.dumps(x, ensure_ascii=False) for x in case["ndjson"]) + "\n").encode()
        headers["content-type"] = "application/x-ndjson"
    elif "raw_body" in case:
        data = case["raw_body"].encode()
        headers["content-type"] = case.get("content_type", "application/json")
    elif body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        headers["content-type"] = "application/json"
    method = case.get("method") or ("POST" if data is not None else "GET")
    return method, path, params, data, headers


def send(session, base, req):
    method, path, params, data, headers = req
    try:
        r = session.request(method, base + path, params=params, data=data, headers=headers,
                            timeout=TIMEOUT)
    except requests.RequestException as e:
        return (599, {"transport_error": type(e).__name__, "detail": str(e)[:300]})
    try:
        body = r.json()
    except ValueError:
        body = {"non_json_body": r.text[:2000]}
    return (r.status_code, body)


# ============================================================================================
# normalisation


ROT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}(-\d{2})?|\d{4}-w\d{2}|\d{4}-\d{2})$")


def dataset_of(index):
    """The dataset an index holds: Hydrant's rotated `app_x-2026-03-27` -> `app_x`."""
    if not isinstance(index, str):
        return index
    return ROT_SUFFIX.sub("", index)


def sort_keys(sort):
    """Names of the sort keys of a request's `sort` (body or URL form)."""
    if sort is None:
        return []
    if isinstance(sort, (str, dict)):
        sort = [sort]
    keys = []
    for s in sort:
        if isinstance(s, str):
            keys.append(s.split(":")[0])
        elif isinstance(s, dict) and s:
            keys.append(next(iter(s)))
    return keys


INTERNAL_SORT = {"_doc", "_shard_doc", "_score"}


def norm_error(status, body):
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        top = err.get("type")
        rc = err.get("root_cause") or []
        root = rc[0].get("type") if rc and isinstance(rc[0], dict) else None
        # A wrapper: OpenSearch wraps shard failures; the type that says what went wrong is
        # the first root cause (or, when there is none, the `caused_by`).
        eff = top
        if top == "search_phase_execution_exception":
            cb = err.get("caused_by") if isinstance(err.get("caused_by"), dict) else {}
            eff = root or cb.get("type") or top
        return {"status": status, "type": eff}
    if isinstance(err, str):
        return {"status": status, "type": err}
    return {"status": status, "type": None}


def error_reason(body):
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return str(err or body)[:300]
    reasons = [err.get("reason") or ""]
    for rc in err.get("root_cause") or []:
        if isinstance(rc, dict):
            reasons.append(rc.get("reason") or "")
    cb = err.get("caused_by")
    while isinstance(cb, dict):
        reasons.append(cb.get("reason") or "")
        cb = cb.get("caused_by")
    return " | ".join(r for r in reasons if r)


def is_unsupported(status, body):
    return status >= 400 and "is not supported" in error_reason(body)


class Ctx:
    """What normalising one answer needs from its request."""

    def __init__(self, case, body):
        self.case = case
        self.body = body if isinstance(body, dict) else {}
        self.score = case.get("score", False)
        params = case.get("params", {})
        self.sort = sort_keys(self.body.get("sort", params.get("sort")))


def norm_hit(hit, sort, score):
    h = dict(hit)
    if not score:
        h.pop("_score", None)
    if "_index" in h:
        h["_index"] = dataset_of(h["_index"])
    h.pop("_shard", None)
    h.pop("_node", None)
    if isinstance(h.get("_seq_no"), int):
        h["_seq_no"] = "<number>"  # engine-internal (see docs/known-differences.md)
    if "sort" in h and isinstance(h["sort"], list):
        keep = [dataset_of(v) if i < len(sort) and sort[i] == "_index" else v
                for i, v in enumerate(h["sort"]) if i >= len(sort) or sort[i] not in INTERNAL_SORT]
        h["sort"] = keep
    return h


def merge_index_buckets(aggs, request):
    """`terms` on `_index` buckets by dataset: Hydrant's rotated indices of one dataset hold
    what OpenSearch's one index holds (known difference), so their counts are summed."""
    if not isinstance(aggs, dict):
        return aggs
    out = dict(aggs)
    for name, spec in request.items():
        terms = spec.get("terms") if isinstance(spec, dict) else None
        res = out.get(name)
        if not (isinstance(terms, dict) and terms.get("field") == "_index" and isinstance(res, dict)):
            continue
        merged = {}
        for b in res.get("buckets", []):
            key = dataset_of(b["key"])
            if key in merged:
                merged[key]["doc_count"] += b["doc_count"]
            else:
                merged[key] = dict(b, key=key)
        res = dict(res)
        if len(merged) < len(res.get("buckets", [])):  # merged: in the default order again
            res["buckets"] = sorted(merged.values(), key=lambda b: (-b["doc_count"], b["key"]))
        out[name] = res
    return out


def norm_search(status, body, ctx):
    if status >= 300 or not isinstance(body, dict) or "error" in body:
        return {"error": norm_error(status, body)}
    out = {"status": status}
    for k, v in body.items():
        if k in ("took", "timed_out", "_shards", "num_reduce_phases", "_clusters", "max_score",
                 "status"):
            continue
        if k in ("_scroll_id", "pit_id"):
            out[k] = "<present>"
            continue
        if k == "hits":
            hits = dict(v)
            hits.pop("max_score", None)
            hits["hits"] = [norm_hit(h, ctx.sort, ctx.score) for h in v.get("hits", [])]
            out["hits"] = hits
            continue
        if k == "aggregations":
            v = merge_index_buckets(v, ctx.body.get("aggs") or ctx.body.get("aggregations") or {})
        out[k] = v
    shards = body.get("_shards") or {}
    if shards.get("failed"):
        out["shard_failures"] = sorted({(f.get("reason") or {}).get("type", "?")
                                        for f in shards.get("failures", [])})
    return out


def norm_generic(status, body, ctx, drop=("took", "_shards", "timed_out")):
    if status >= 300 or (isinstance(body, dict) and "error" in body):
        return {"error": norm_error(status, body)}
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in drop}
    return {"status": status, "body": body}


def merge(a, b):
    """Deep union of two mappings; None where they contradict each other."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if k in out else v
        return out
    return a if a == b else {"<conflict>": [a, b]}


def map_index_keys(d):
    """{concrete index: x} -> {dataset: x}; the mappings of several indices of one dataset
    (Hydrant's rotation) are merged: together they hold what OpenSearch's single index holds."""
    out = {}
    for k in sorted(d):
        ds = dataset_of(k)
        out[ds] = merge(out[ds], d[k]) if ds in out else d[k]
    return out


def norm_mapping(status, body, ctx):
    if status >= 300 or "error" in body:
        return {"error": norm_error(status, body)}
    return {"status": status, "body": map_index_keys(body)}


def norm_field_caps(status, body, ctx):
    if status >= 300 or "error" in body:
        return {"error": norm_error(status, body)}
    out = {"status": status, "indices": sorted({dataset_of(i) for i in body.get("indices", [])})}
    fields = {}
    for name, types in body.get("fields", {}).items():
        if name.startswith("_"):
            continue  # metadata fields: their set is engine-version specific (known-differences.md)
        fields[name] = {}
        for t, caps in types.items():
            caps = dict(caps)
            if caps.get("metadata_field") is False:
                del caps["metadata_field"]  # an Elasticsearch 8 key OpenSearch 2 does not send
            for k in ("indices", "non_searchable_indices", "non_aggregatable_indices"):
                if caps.get(k) is not None:
                    caps[k] = sorted({dataset_of(i) for i in caps[k]})
            fields[name][t] = caps
    out["fields"] = fields
    return out


def norm_resolve(status, body, ctx):
    if status >= 300 or "error" in body:
        return {"error": norm_error(status, body)}
    out = {"status": status}
    for k in ("indices", "aliases", "data_streams"):
        items = []
        for it in body.get(k, []):
            it = dict(it)
            it["name"] = dataset_of(it.get("name"))
            if k == "aliases" and all(dataset_of(i) == it["name"] for i in it.get("indices", [])):
                continue  # Hydrant's stream alias over its own rotated indices (an index here)
            if k == "indices" and "aliases" in it:
                it["aliases"] = [a for a in it["aliases"] if a != it["name"]]
                if not it["aliases"]:
                    del it["aliases"]  # as Elasticsearch lists an index without aliases
            items.append(json.dumps(it, sort_keys=True))
        out[k] = sorted(set(items))
    return out


def norm_cat(status, body, ctx):
    if status >= 300 or (isinstance(body, dict) and "error" in body):
        return {"error": norm_error(status, body)}
    rows = body if isinstance(body, list) else [body]
    return {"status": status, "rows": sorted(json.dumps(r, sort_keys=True) for r in rows)}


def norm_for(case):
    path = case.get("path", "/{target}/_search")
    if "_msearch" in path:
        return "msearch"
    if "_mapping" in path:
        return "mapping"
    if "_field_caps" in path:
        return "field_caps"
    if "_resolve/index" in path:
        return "resolve"
    if "_cat/" in path:
        return "cat"
    if "_search" in path:
        return "search"
    return "generic"


NORMALISERS = {"search": norm_search, "mapping": norm_mapping, "field_caps": norm_field_caps,
               "resolve": norm_resolve, "cat": norm_cat, "generic": norm_generic}


def select(norm, paths):
    """Only the listed dotted paths of a normalised answer, in its own structure (errors and
    the HTTP status are always kept)."""
    if "error" in norm:
        return norm
    out = {"status": norm["status"]} if "status" in norm else {}
    for p in paths:
        parts = p.split(".")
        cur, dst = norm, out
        for i, part in enumerate(parts):
            if not (isinstance(cur, dict) and part in cur):
                break
            if i == len(parts) - 1:
                dst[part] = cur[part]
            else:
                dst = dst.setdefault(part, {})
            cur = cur[part]
    return out


# ============================================================================================
# comparison


def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def close(a, b, rel):
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), ABS_FLOOR if rel > 0 else 0)


def short(v, n=160):
    s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[:n] + "…"


class Differ:
    def __init__(self):
        self.diffs = []

    def add(self, path, a, b, what=""):
        self.diffs.append(f"{path or '.'}: opensearch {short(a)} vs hydrant {short(b)}" + (f" ({what})" if what else ""))

    def value(self, a, b, path, rel=0.0, strict_types=False, abs_tol=None):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                if k not in a:
                    self.add(f"{path}.{k}", "<absent>", b[k])
                elif k not in b:
                    self.add(f"{path}.{k}", a[k], "<absent>")
                else:
                    self.value(a[k], b[k], f"{path}.{k}", rel, strict_types or k == "_source", abs_tol)
            return
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                self.add(path, a, b, f"{len(a)} vs {len(b)} items")
                return
            for i, (x, y) in enumerate(zip(a, b)):
                self.value(x, y, f"{path}[{i}]", rel, strict_types, abs_tol)
            return
        if num(a) and num(b):
            if strict_types and type(a) is not type(b):
                self.add(path, a, b, "number type")
            elif abs_tol is not None:
                if abs(a - b) > abs_tol:
                    self.add(path, a, b, f"more than {abs_tol} apart")
            elif not close(a, b, rel):
                self.add(path, a, b)
            return
        if abs_tol is not None and path.endswith("_as_string") and isinstance(a, str) and isinstance(b, str):
            # An approximate date (a date percentile) is also written as a date: the same
            # tolerance, on the instants the two strings name.
            ta, tb = iso_ms(a), iso_ms(b)
            if ta is None or tb is None or abs(ta - tb) > abs_tol:
                self.add(path, a, b, f"more than {abs_tol} ms apart")
            return
        if a != b or type(a) is not type(b):
            self.add(path, a, b)

    # -- hits ---------------------------------------------------------------------------
    def hits(self, a, b, path, ctx, order, requested_size):
        """a, b: lists of normalised hits."""
        if order == "strict":
            if [h.get("_id") for h in a] != [h.get("_id") for h in b]:
                self.add(path + "[*]._id", [h.get("_id") for h in a], [h.get("_id") for h in b], "ids/order")
                return
            self.value(a, b, path, REL_SCORE if ctx.score else 0.0)
            return
        complete = len(a) < requested_size and len(b) < requested_size
        if order == "groups":
            ga, gb = group_by_sort(a), group_by_sort(b)
            if [g[0] for g in ga] != [g[0] for g in gb]:
                self.add(path + "[*].sort", [g[0] for g in ga], [g[0] for g in gb], "sort values")
                return
            for i, ((sa, xa), (sb, xb)) in enumerate(zip(ga, gb)):
                last = i == len(ga) - 1
                if last and not complete:
                    if len(xa) != len(xb):
                        self.add(f"{path}<last sort group {short(sa)}>", len(xa), len(xb), "hits in group")
                    continue
                self.value(sorted(xa, key=hit_key), sorted(xb, key=hit_key), f"{path}<sort group {short(sa, 60)}>")
            return
        # set
        if complete or len(a) == len(b) == 0:
            self.value(sorted(a, key=hit_key), sorted(b, key=hit_key), path + "<as a set>",
                       REL_SCORE if ctx.score else 0.0)
        elif len(a) != len(b):
            self.add(path, len(a), len(b), "number of hits")

    # -- aggregations -------------------------------------------------------------------
    def aggs(self, req, a, b, path, ctx):
        if not isinstance(a, dict) or not isinstance(b, dict):
            self.value(a, b, path)
            return
        req = req or {}
        for name in sorted(set(a) | set(b)):
            if name not in a or name not in b:
                self.add(f"{path}.{name}", a.get(name, "<absent>"), b.get(name, "<absent>"))
                continue
            spec = req.get(name) or {}
            kind = next((k for k in spec if k not in ("aggs", "aggregations", "meta")), None)
            subs = spec.get("aggs") or spec.get("aggregations") or {}
            self.agg(kind, spec.get(kind) if kind else None, subs, a[name], b[name], f"{path}.{name}", ctx)

    def agg(self, kind, params, subs, a, b, path, ctx):
        if not isinstance(a, dict) or not isinstance(b, dict):
            self.value(a, b, path)
            return
        if kind in ("percentiles", "cardinality", "percentile_ranks", "median_absolute_deviation"):
            # "approx_abs": an absolute tolerance instead (dates: 5 % of an epoch is years)
            self.value(a, b, path, REL_APPROX, abs_tol=ctx.case.get("approx_abs"))
            return
        if kind == "top_hits":
            ha, hb = a.get("hits", {}), b.get("hits", {})
            self.value(ha.get("total"), hb.get("total"), path + ".hits.total")
            sk = sort_keys((params or {}).get("sort"))
            tctx = copy.copy(ctx)
            tctx.sort = sk
            na = [norm_hit(h, sk, False) for h in ha.get("hits", [])]
            nb = [norm_hit(h, sk, False) for h in hb.get("hits", [])]
            order = "strict" if sk and sk[-1] == "seq" else ("groups" if sk else "set")
            self.hits(na, nb, path + ".hits.hits", tctx, order, (params or {}).get("size", 3))
            return
        bucketed = "buckets" in a or "buckets" in b
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                self.add(f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>"))
                continue
            if k == "buckets":
                self.buckets(a[k], b[k], subs, f"{path}.buckets", ctx)
            elif k in subs:
                continue  # handled below (single-bucket aggs: filter, ...)
            else:
                self.value(a[k], b[k], f"{path}.{k}", 0.0 if bucketed else REL_METRIC)
        if not bucketed and subs:
            self.aggs(subs, {k: a[k] for k in subs if k in a}, {k: b[k] for k in subs if k in b}, path, ctx)

    def buckets(self, a, b, subs, path, ctx):
        if isinstance(a, dict) and isinstance(b, dict):  # keyed
            if sorted(a) != sorted(b):
                self.add(path + "<keys>", sorted(a), sorted(b))
            for k in sorted(set(a) & set(b)):
                self.bucket(a[k], b[k], subs, f"{path}[{k}]", ctx)
            return
        if not isinstance(a, list) or not isinstance(b, list):
            self.value(a, b, path)
            return
        ka = [x.get("key") for x in a]
        kb = [x.get("key") for x in b]
        if len(a) != len(b) or any(not (x == y or (num(x) and num(y) and close(x, y, 0))) for x, y in zip(ka, kb)):
            self.add(path + "[*].key", ka, kb, f"{len(a)} vs {len(b)} buckets")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            self.bucket(x, y, subs, f"{path}[{i}]", ctx)

    def bucket(self, a, b, subs, path, ctx):
        for k in sorted(set(a) | set(b)):
            if k in subs:
                continue
            if k not in a or k not in b:
                self.add(f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>"))
            else:
                self.value(a[k], b[k], f"{path}.{k}")
        if subs:
            self.aggs(subs, {k: a[k] for k in subs if k in a}, {k: b[k] for k in subs if k in b}, path, ctx)


def hit_key(h):
    return json.dumps(h.get("_id")) + json.dumps(h, sort_keys=True, ensure_ascii=False)


def group_by_sort(hits):
    groups = []
    for h in hits:
        s = h.get("sort")
        if groups and groups[-1][0] == s:
            groups[-1][1].append(h)
        else:
            groups.append((s, [h]))
    return groups


def hits_order(case, body, ctx):
    if case.get("order"):
        return case["order"]
    target = case.get("target", "")
    single = target and "," not in target and "*" not in target and target != "_all"
    if ctx.sort and ctx.sort[-1] == "seq" and single:
        return "strict"
    if [k for k in ctx.sort if k != "_score"]:
        return "groups"
    return "set"


def compare_search(case, body, na, nb, d, path=""):
    ctx = Ctx(case, body)
    if "error" in na or "error" in nb:
        d.value(na, nb, path or "answer")
        return
    req_aggs = (body or {}).get("aggs") or (body or {}).get("aggregations") or {}
    for k in sorted(set(na) | set(nb)):
        p = f"{path}.{k}" if path else k
        if k not in na or k not in nb:
            d.add(p, na.get(k, "<absent>"), nb.get(k, "<absent>"))
        elif k == "hits":
            ha, hb = na["hits"], nb["hits"]
            for hk in sorted(set(ha) | set(hb)):
                if hk == "hits":
                    continue
                if hk not in ha or hk not in hb:
                    d.add(f"{p}.{hk}", ha.get(hk, "<absent>"), hb.get(hk, "<absent>"))
                else:
                    d.value(ha[hk], hb[hk], f"{p}.{hk}")
            size = (body or {}).get("size", case.get("params", {}).get("size", 10))
            try:
                size = int(size)
            except (TypeError, ValueError):
                size = 10
            d.hits(ha.get("hits", []), hb.get("hits", []), p + ".hits", ctx, hits_order(case, body, ctx), size)
        elif k == "aggregations":
            d.aggs(req_aggs, na[k], nb[k], p, ctx)
        else:
            d.value(na[k], nb[k], p)


def compare_case(case, body, a, b):
    """(outcome, diffs, normalised a, normalised b)."""
    (sa, ja), (sb, jb) = a, b
    kind = norm_for(case)
    d = Differ()
    if kind == "msearch":
        bodies = case.get("ndjson", [])[1::2]
        ra = ja.get("responses") if isinstance(ja, dict) else None
        rb = jb.get("responses") if isinstance(jb, dict) else None
        if sa >= 300 or sb >= 300 or ra is None or rb is None:
            na, nb = {"error": norm_error(sa, ja)} if sa >= 300 else ja, {"error": norm_error(sb, jb)} if sb >= 300 else jb
            if sa < 300 and sb >= 300 and is_unsupported(sb, jb):
                return "unsupported", [error_reason(jb)], na, nb
            d.value(na, nb, "answer")
            return ("differs" if d.diffs else "agrees"), d.diffs, na, nb
        if len(ra) != len(rb):
            d.add("responses", len(ra), len(rb), "number of responses")
            return "differs", d.diffs, ja, jb
        outcome = "agrees"
        na_all, nb_all = [], []
        bodies = bodies + [{}] * (len(ra) - len(bodies))
        for i, (x, y, bd) in enumerate(zip(ra, rb, bodies)):
            xs, ys = x.get("status", 200), y.get("status", 200)
            nx, ny = norm_search(xs, x, Ctx(case, bd)), norm_search(ys, y, Ctx(case, bd))
            na_all.append(nx)
            nb_all.append(ny)
            if xs < 300 and "error" not in x and is_unsupported(ys, y):
                outcome = "unsupported" if outcome == "agrees" else outcome
                continue
            before = len(d.diffs)
            compare_search(case, bd, nx, ny, d, f"responses[{i}]")
            if len(d.diffs) > before:
                outcome = "differs"
        return outcome, d.diffs, na_all, nb_all
    if sa < 300 and sb >= 300 and is_unsupported(sb, jb):
        return "unsupported", [error_reason(jb)], {"status": sa}, {"error": norm_error(sb, jb)}
    if kind == "search":
        na, nb = norm_search(sa, ja, Ctx(case, body)), norm_search(sb, jb, Ctx(case, body))
    else:
        na, nb = NORMALISERS[kind](sa, ja, Ctx(case, body)), NORMALISERS[kind](sb, jb, Ctx(case, body))
    if case.get("compare"):
        na, nb = select(na, case["compare"]), select(nb, case["compare"])
    if kind == "search":
        compare_search(case, body, na, nb, d)
    else:
        d.value(na, nb, "")
    return ("differs" if d.diffs else "agrees"), d.diffs, na, nb


# ============================================================================================
# known differences


def iso_ms(text):
    """Epoch milliseconds of an ISO 8601 instant (`2026-03-29T00:10:59.983Z`), or None."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return None


def read_known():
    """[(glob, reason)] from the Markdown table(s) of docs/known-differences.md whose header's
    first column is `case`."""
    out = []
    if not os.path.exists(KNOWN_FILE):
        return out
    in_table = False
    for line in open(KNOWN_FILE, encoding="utf-8"):
        line = line.strip()
        if not line.startswith("|"):
            in_table = False
            continue
        cols = [c.strip() for c in line.strip("|").split("|")]
        if cols[0].lower() == "case":
            in_table = True
            continue
        if not in_table or set(cols[0]) <= set("-: "):
            continue
        for g in cols[0].split(","):
            g = g.strip().strip("`").strip()
            if g:
                out.append((g, cols[1] if len(cols) > 1 else ""))
    return out


def known_reason(known, case_id):
    for g, reason in known:
        if fnmatch.fnmatchcase(case_id, g):
            return g, reason
    return None


# ============================================================================================
# main


def trim(v, n=6000):
    s = json.dumps(v, ensure_ascii=False)
    if len(s) <= n:
        return v
    return {"trimmed": s[:n] + "…"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hydrant-bin", default=os.environ.get("HYDRANT_BIN", os.path.join(ROOT, "target/debug/hydrant")))
    ap.add_argument("--opensearch-url", help="use a running, EMPTY OpenSearch 2.19.6 node instead of starting one")
    ap.add_argument("--only", help="run only the cases whose id matches this glob, or one of these comma-separated globs (ingest always runs)")
    ap.add_argument("--report", default=os.environ.get("CONFORMANCE_REPORT", os.path.join(HERE, "out", "report.json")))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every difference")
    ap.add_argument("--open", default=OPEN_FILE,
                    help="file of case ids that differ and are not fixed yet (default: %(default)s)")
    ap.add_argument("--write-open", action="store_true",
                    help="rewrite that file with the cases that differ now (after fixing some)")
    args = ap.parse_args()

    t_start = time.time()
    cases = load_cases()
    if args.only:
        globs = args.only.split(",")
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c["id"], g) for g in globs)]
    known = read_known()
    binary = os.path.abspath(args.hydrant_bin)
    if not os.path.exists(binary):
        log(f"no Hydrant binary at {binary} (set HYDRANT_BIN)")
        return 2

    opensearch = hydrant = None
    session = requests.Session()
    try:
        opensearch = OpenSearch(args.opensearch_url)
        hydrant = Hydrant(binary, docs.hydrant_toml())
        log(f"hydrant {hydrant.url} ({binary})")
        results = ingest_cases(load_all(opensearch.url, hydrant, session))
        t_loaded = time.time()

        prev = {"os": {}, "hy": {}}
        fivexx = []
        crashes = []
        for case in cases:
            body = case.get("body")
            ra = send(session, opensearch.url, build_request(case, prev["os"], "os"))
            rb = send(session, hydrant.url, build_request(case, prev["hy"], "hy"))
            prev["os"][case["id"]], prev["hy"][case["id"]] = ra, rb
            if ra[0] == 599 and not opensearch_alive(session, opensearch.url):
                raise RuntimeError(f"OpenSearch stopped answering at case {case['id']}: {ra[1]}")
            if rb[0] >= 500:
                fivexx.append({"id": case["id"], "status": rb[0], "answer": trim(rb[1], 1500)})
            if not hydrant.alive():
                crashes.append({"id": case["id"], "exit": hydrant.proc.returncode, "log": hydrant.logs[-30:]})
                log(f"HYDRANT EXITED during case {case['id']} (exit {hydrant.proc.returncode}); restarting")
                hydrant.restarts += 1
                hydrant.start()
            if "ndjson" in case:
                body = None
            try:
                outcome, diffs, na, nb = compare_case(case, body, ra, rb)
            except Exception as e:  # a comparison that cannot be made is a difference
                outcome, diffs, na, nb = "differs", [f"comparison failed: {type(e).__name__}: {e}"], ra[1], rb[1]
            results.append({
                "id": case["id"], "feature": case["feature"], "target": case.get("target"),
                "request": {k: case[k] for k in ("method", "path", "params", "body", "ndjson", "raw_body", "chain")
                            if k in case},
                "outcome": outcome, "diffs": diffs,
                "status": [ra[0], rb[0]],
                "opensearch": trim(na), "hydrant": trim(nb),
                "raw": {"opensearch": trim(ra[1], 3000), "hydrant": trim(rb[1], 3000)} if outcome != "agrees" else None,
            })
        t_cases = time.time()
        panics = [line for line in hydrant.logs if "panick" in line or " ERROR " in line]
    finally:
        if hydrant:
            hydrant.stop()
        if opensearch:
            opensearch.stop()

    # -- tally ---------------------------------------------------------------------------
    stale = []
    open_ids = read_open(args.open)
    fixed = []
    for r in results:
        k = known_reason(known, r["id"])
        r["known"] = k[0] if k else None
        if r["outcome"] == "differs" and k:
            r["outcome"] = "known"
        elif k and r["outcome"] == "agrees":
            stale.append(r["id"])
        if r["outcome"] == "differs" and r["id"] in open_ids:
            r["outcome"] = "open"
        elif r["outcome"] == "agrees" and r["id"] in open_ids:
            fixed.append(r["id"])
    features = {}
    for r in results:
        f = features.setdefault(r["feature"], {"agrees": 0, "differs": 0, "open": 0, "known": 0, "unsupported": 0})
        f[r["outcome"]] += 1
    cols = ("agrees", "differs", "open", "known", "unsupported")
    w = max(len(f) for f in features) + 2
    print(f"{'feature':<{w}}" + "".join(f"{c:>12}" for c in cols) + f"{'total':>8}")
    tot = {c: 0 for c in cols}
    for name in sorted(features):
        f = features[name]
        print(f"{name:<{w}}" + "".join(f"{f[c]:>12}" for c in cols) + f"{sum(f.values()):>8}")
        for c in cols:
            tot[c] += f[c]
    print(f"{'TOTAL':<{w}}" + "".join(f"{tot[c]:>12}" for c in cols) + f"{sum(tot.values()):>8}")

    differing = [r for r in results if r["outcome"] == "differs"]
    for r in differing:
        print(f"\nDIFFERS {r['id']} [{r['feature']}]")
        for line in r["diffs"][: (50 if args.verbose else 3)]:
            print("   ", line)
    if fivexx:
        print(f"\nHydrant answered 5xx to {len(fivexx)} case(s): " + ", ".join(x["id"] for x in fivexx))
    if crashes:
        print(f"\nHYDRANT EXITED {len(crashes)} time(s): " + ", ".join(x["id"] for x in crashes))
    if panics:
        print(f"\nHydrant logged {len(panics)} panic/ERROR line(s), e.g.: " + panics[0][:300])
    if stale:
        print("\nListed in known-differences.md but agree now: " + ", ".join(stale))
    if fixed:
        print(f"\nListed in {os.path.relpath(args.open, ROOT)} but agree now (remove them, or run with "
              "--write-open): " + ", ".join(fixed))
    if args.write_open:
        ids = sorted(r["id"] for r in results if r["outcome"] in ("differs", "open"))
        write_open(args.open, ids)
        print(f"\nwrote {len(ids)} open differences to {args.open}")

    report = {
        "opensearch": "2.19.6", "hydrant_bin": binary,
        "seconds": {"total": round(time.time() - t_start, 1), "setup_and_load": round(t_loaded - t_start, 1),
                    "cases": round(t_cases - t_loaded, 1)},
        "tolerances": {"metric_rel": REL_METRIC, "percentiles_cardinality_rel": REL_APPROX, "score_rel": REL_SCORE},
        "totals": tot, "features": features,
        "hydrant_5xx": fivexx, "hydrant_exits": crashes, "hydrant_error_log": panics[:50], "stale_known": stale,
        "fixed_open": fixed,
        "cases": [r for r in results if r["outcome"] != "agrees"],
        "agreeing": {r["id"]: r.get("status") for r in results if r["outcome"] == "agrees"},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)
    print(f"\n{len(results)} cases ({len(results) - len(cases)} ingest) in {time.time() - t_start:.0f} s; "
          f"report: {os.path.abspath(args.report)}")
    # A 5xx or a crash is never an accepted difference.
    return 1 if (differing or fivexx or crashes) and not args.write_open else 0


OPEN_HEADER = """# Differences from OpenSearch 2.19.6 that the conformance suite finds and that are not fixed yet.
# Each line is a case id (see cases/*.json; <id>@<target> for a case run on several targets).
# These are bugs or open decisions, tracked until fixed; intentional differences are in
# docs/known-differences.md instead. A case not listed here that differs fails the suite.
# After fixing some: bash tests/conformance/run.sh --write-open
"""


def read_open(path):
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def write_open(path, ids):
    with open(path, "w", encoding="utf-8") as f:
        f.write(OPEN_HEADER)
        for i in ids:
            f.write(i + "\n")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, requests.RequestException) as e:
        log(f"run.py: setup failed: {e}")
        sys.exit(2)
