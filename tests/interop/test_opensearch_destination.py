"""The Elasticsearch/OpenSearch destination end to end against a real OpenSearch 2.19.6 node
(tests/opensearch/opensearch.sh): what arrives is counted on OpenSearch itself.

- records shipped as NDJSON and `_bulk` arrive once each, with Hydrant's record ids as `_id`,
  in indices named as Firehose names them for each rotation;
- a strict mapping makes OpenSearch refuse some documents (400): they land in the error output
  with OpenSearch's own reason, the others are indexed;
- a node with a write queue of 1 answers 429s for real: they are retried alone until every
  record is in, once;
- the OpenSearch JVM killed with SIGKILL mid-delivery and restarted, and Hydrant killed with
  SIGKILL mid-delivery and restarted: every acknowledged record ends in OpenSearch exactly once;
- `hydrant sigproxy` in front of a SigV4-verifying front of OpenSearch: unsigned clients get
  exactly OpenSearch's answers.

One node is shared (each test has its own indices); the tiny-write-queue node replaces it for
the last test. Both are started with --watch-pid, so a dying pytest leaves no JVM behind.
"""

import datetime as dt
import json
import re
import time

import pytest
import requests
from opensearchpy import NotFoundError, OpenSearch

from opensearch_support import (BulkTap, Forwarder, HydrantServer, Nodes, Shipper, raw_data,
                                sigv4_check, wait_until)
from sigproxy_support import Sigproxy, raw_request

TINY_WRITE_QUEUE = ["thread_pool.write.size=1", "thread_pool.write.queue_size=1"]
ID = re.compile(r"^[A-Za-z0-9_-]{20}$")  # a Hydrant record id (as Elasticsearch makes them)


@pytest.fixture(scope="module")
def nodes():
    n = Nodes()
    yield n
    n.stop()


@pytest.fixture
def stack():
    """Things to stop at the end of a test (Hydrants, proxies), last first."""
    items = []

    def add(item):
        items.append(item)
        return item

    yield add
    for item in reversed(items):
        (item.cleanup if hasattr(item, "cleanup") else item.stop)()


def hydrant_config(endpoint, es="", streams="", defaults=""):
    """Streams deliver to `endpoint` only (no embedded index); `es` continues
    `[defaults.elasticsearch]`, `streams` adds `[streams.*]` tables."""
    return (f'[defaults]\nbuffer_interval = "200ms"\nretry_duration = "10m"\n{defaults}'
            f'[defaults.index]\nenabled = false\n'
            f'[defaults.elasticsearch]\nenabled = true\nendpoints = ["{endpoint}"]\n{es}\n{streams}')


def utc_now():
    return dt.datetime.now(dt.timezone.utc)


def wait_delivered(h, node, stream, target, expected, timeout):
    """Until `target` on OpenSearch holds `expected` documents and the stream has nothing left
    to deliver (so that no later write can change the count)."""
    return wait_until(f"{expected} documents in {target}",
                      lambda: node.count(target) >= expected and h.buffered(stream) == 0, timeout)


def by_seq(docs):
    out = {}
    for d in docs:
        seq = d["_source"]["seq"]
        assert seq not in out, f"seq {seq} is on OpenSearch twice: {out[seq]['_id']} and {d['_id']}"
        out[seq] = d
    return out


# ============================================================================================
# a. delivery, ids, rotation


ROTATIONS = {
    "rot-hour": ("OneHour", lambda t: t.strftime("%Y-%m-%d-%H")),
    "rot-day": ("OneDay", lambda t: t.strftime("%Y-%m-%d")),
    # Weeks start on Monday, the days before the year's first Monday are week 00 (as README and
    # index/src/rotation.rs document; see the report on AWS's description of OneWeek).
    "rot-week": ("OneWeek", lambda t: t.strftime("%Y-w%W")),
    "rot-month": ("OneMonth", lambda t: t.strftime("%Y-%m")),
    "rot-none": ("NoRotation", None),
}


def test_shipped_records_arrive_once_with_hydrant_ids_in_firehose_named_indices(nodes, stack):
    node = nodes.get()
    streams = '[streams.orders.elasticsearch]\nindex = "orders"\nrotation = "OneDay"\n'
    for stream, (rotation, _) in ROTATIONS.items():
        streams += f'[streams.{stream}.elasticsearch]\nrotation = "{rotation}"\n'
    # By the record's @timestamp instead of its arrival: a backfill lands where it belongs.
    streams += '[streams.rot-ts.elasticsearch]\nrotation = "OneDay"\nrotation_time = "timestamp"\n'
    h = stack(HydrantServer(hydrant_config(node.url, streams=streams)))

    t0 = utc_now()
    for start in range(0, 3000, 1000):  # NDJSON: 1000 records per request
        h.ship_ndjson("orders", [{"seq": n, "via": "ndjson", "msg": f"order {n}"} for n in range(start, start + 1000)])
    bulk_ids = {}
    for start in range(3000, 6000, 500):  # _bulk: 500 per request, ids made by Hydrant
        docs = [{"seq": n, "via": "bulk", "msg": f"order {n}"} for n in range(start, start + 500)]
        ids = h.ship_bulk("orders", docs)
        assert None not in ids
        bulk_ids.update(zip(range(start, start + 500), ids))
    client_ids = {6000 + i: f"client-{i}" for i in range(100)}  # _bulk with the client's _id
    taken = h.ship_bulk("orders", [{"seq": s, "via": "client-id", "rev": 1} for s in client_ids],
                        ids=list(client_ids.values()))
    assert taken == list(client_ids.values())
    for stream in ROTATIONS:
        h.ship_ndjson(stream, [{"seq": n} for n in range(10)])
    h.ship_ndjson("rot-ts", [{"seq": 0, "@timestamp": "2024-02-29T23:59:59.999Z"},
                             {"seq": 1, "@timestamp": "2024-03-01T00:00:00Z"}])
    t1 = utc_now()
    total = 6100
    wait_delivered(h, node, "orders", "orders-*", total, 60)

    # The same _ids written again (a later delivery) overwrite: no new documents.
    h.ship_bulk("orders", [{"seq": s, "via": "client-id", "rev": 2} for s in client_ids],
                ids=list(client_ids.values()))
    wait_until("the second version of the client-id documents",
               lambda: h.es_metric("delivery_records_total", "orders") >= total + 100 and h.buffered("orders") == 0, 30)

    # One index per arrival day, named as Firehose names it: orders-YYYY-MM-DD.
    indices = node.indices("orders*")
    days = {f"orders-{t0:%Y-%m-%d}", f"orders-{t1:%Y-%m-%d}"}
    assert indices and set(indices) <= days, (indices, days)
    docs = node.docs("orders-*")
    assert len(docs) == total == sum(indices.values()), f"{len(docs)} documents on OpenSearch, {total} shipped"
    seqs = by_seq(docs)
    assert set(seqs) == set(range(total))
    for seq, doc in seqs.items():
        source = doc["_source"]
        if seq < 3000:
            assert ID.match(doc["_id"]) and source["via"] == "ndjson", doc
            assert doc["_version"] == 1, f"record {seq} was written {doc['_version']} times: {doc}"
        elif seq < 6000:
            assert doc["_id"] == bulk_ids[seq], f"seq {seq}: _id {doc['_id']}, Hydrant answered {bulk_ids[seq]}"
            assert doc["_version"] == 1, doc
        else:
            assert doc["_id"] == client_ids[seq] and source["rev"] == 2 and doc["_version"] == 2, doc
    assert len({d["_id"] for d in docs}) == total
    assert h.es_metric("delivery_records_total", "orders") == total + 100
    assert h.es_metric("error_output_records_total", "orders") == 0
    assert h.error_records() == []

    # Every rotation: the stream's name plus the arrival time's suffix.
    for stream, (rotation, suffix) in ROTATIONS.items():
        wait_until(f"{stream} delivered", lambda: node.count(f"{stream}*") >= 10, 30)
        names = set(node.indices(f"{stream}*"))
        expected = {stream} if suffix is None else {f"{stream}-{suffix(t)}" for t in (t0, t1)}
        assert names and names <= expected, f"{rotation}: {names}, expected one of {expected}"
    wait_until("rot-ts delivered", lambda: node.count("rot-ts*") >= 2, 30)
    assert node.indices("rot-ts*") == {"rot-ts-2024-02-29": 1, "rot-ts-2024-03-01": 1}
    print(f"\n[a] {total} records (3000 NDJSON, 3000 _bulk, 100 client _ids written twice) in "
          f"{sorted(indices)}; rotations: {sorted(n for s in ROTATIONS for n in node.indices(f'{s}*'))}")


# ============================================================================================
# b. a strict mapping: OpenSearch refuses, the error output keeps OpenSearch's reason


def test_documents_a_strict_mapping_refuses_land_in_the_error_output_with_opensearchs_reason(nodes, stack):
    node = nodes.get()
    node.ok("PUT", "/_index_template/strictlogs", {
        "index_patterns": ["strictlogs-*"],
        "template": {"settings": {"number_of_shards": 1},
                     "mappings": {"dynamic": "strict", "properties": {
                         "seq": {"type": "long"}, "msg": {"type": "text"},
                         "level": {"type": "keyword"}, "n": {"type": "long"}}}}})
    h = stack(HydrantServer(hydrant_config(node.url, es='index = "strictlogs"\nrotation = "OneDay"\n')))

    docs = []
    for seq in range(600):
        doc = {"seq": seq, "msg": f"event {seq}", "level": "info", "n": seq}
        if seq % 20 == 7:
            doc["extra"] = {"unmapped": True}  # strict: refused
        if seq % 50 == 13:
            doc["n"] = "not a number"  # mapper_parsing_exception: refused
        docs.append(doc)
    ids = []
    for start in range(0, 600, 200):
        ids += h.ship_bulk("web", docs[start:start + 200])
    day = utc_now().strftime("%Y-%m-%d")
    index = f"strictlogs-{day}"
    bad = {d["seq"] for d in docs if "extra" in d or isinstance(d["n"], str)}
    good = 600 - len(bad)
    assert len(bad) == 42

    failed = wait_until("the refused records in the error output",
                        lambda: (lambda r: r if len(r) >= len(bad) else None)(h.error_records()), 60)
    wait_delivered(h, node, "web", "strictlogs-*", good, 60)

    # OpenSearch's own reasons, asked directly for two of the documents.
    probe = node.bulk([{"index": {"_index": index, "_id": "probe-1"}}, docs[7],
                       {"index": {"_index": index, "_id": "probe-2"}}, docs[13]])
    reasons = {}
    for item, kind in zip(probe["items"], ("extra", "n")):
        err = item["index"]["error"]
        assert item["index"]["status"] == 400, item
        reasons[kind] = (err["type"], err["reason"])
    assert reasons["extra"][0] == "strict_dynamic_mapping_exception"
    assert reasons["n"][0] == "mapper_parsing_exception"

    assert len(failed) == len(bad), [r for _, r in failed]
    hour_prefix = "errors/elasticsearch-failed/"
    for key, rec in failed:
        assert key.startswith(hour_prefix), key
        sent = json.loads(raw_data(rec))
        seq = sent["seq"]
        assert sent == docs[seq] and seq in bad, rec
        assert rec["esDocumentId"] == ids[seq], rec
        assert rec["esIndexName"] == index, rec
        assert rec["errorCode"] == "400" and rec["attemptsMade"] == 1, rec
        kind, reason = reasons["extra" if "extra" in sent else "n"]
        reason = reason.replace("probe-1", ids[seq]).replace("probe-2", ids[seq])
        assert rec["errorMessage"].startswith(f"{kind}: {reason}"), (rec["errorMessage"], kind, reason)
        key_time = dt.datetime.strptime("/".join(key.split("/")[2:6]), "%Y/%m/%d/%H").replace(tzinfo=dt.timezone.utc)
        arrival = dt.datetime.fromtimestamp(rec["arrivalTimestamp"] / 1000, dt.timezone.utc)
        assert abs((arrival - key_time).total_seconds()) < 7200, (key, arrival)

    found = by_seq(node.docs("strictlogs-*"))
    assert set(found) == set(range(600)) - bad
    assert all(found[s]["_id"] == ids[s] for s in found)
    assert node.indices("strictlogs-*") == {index: good}
    assert h.es_metric("error_output_records_total", "web") == len(bad)
    assert h.es_metric("delivery_records_total", "web") == good
    print(f"\n[b] 600 records: {good} indexed, {len(bad)} refused by OpenSearch (400) and in the error output; "
          f"e.g. {failed[0][1]['errorMessage'][:110]}")


# ============================================================================================
# e. Hydrant killed mid-delivery


def test_hydrant_killed_mid_delivery_loses_and_duplicates_nothing_after_restart(nodes, stack):
    node = nodes.get()
    h = stack(HydrantServer(hydrant_config(node.url, es='index = "crash"\nrotation = "NoRotation"\n'
                                                         'max_bulk_documents = 100\n')))
    shipper = Shipper(h, "web", batch=200, limit=8000, pause=0.01)
    shipper.start()
    delivered = wait_until("delivery under way", lambda: h.es_metric("delivery_records_total", "web"), 30, 0.02)
    h.kill9()
    shipper.stop()
    acked = dict(shipper.acked)
    assert int(delivered) < len(acked), f"not mid-delivery: {delivered} of {len(acked)} acknowledged were delivered"
    on_cluster_at_kill = node.count("crash")

    h.start()
    t0 = time.time()
    wait_until("every acknowledged record on OpenSearch",
               lambda: node.count("crash") >= len(acked) and h.buffered("web") == 0, 90)
    replay_s = time.time() - t0
    docs = node.docs("crash")
    seqs = by_seq(docs)
    ids = {d["_id"]: d["_source"]["seq"] for d in docs}
    assert len(ids) == len(docs)
    missing = {i for i in acked if i not in ids}
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:3]}"
    assert all(ids[i] == s for i, s in acked.items())
    assert len(docs) <= shipper.sent
    overwritten = sum(d["_version"] > 1 for d in docs)
    assert h.error_records() == []
    print(f"\n[e] killed after {int(delivered)} delivered ({on_cluster_at_kill} on OpenSearch), "
          f"{len(acked)} acknowledged; after restart {len(docs)} on OpenSearch in {replay_s:.1f}s, "
          f"0 lost, 0 duplicated, {overwritten} re-sent and overwritten (_version > 1)")


# ============================================================================================
# f. sigproxy in front of a SigV4-verifying front of OpenSearch, for reads

KEY = "AKIAOPENSEARCHFRONT1"
SECRET = "front/Secret+Key/0123456789abcdef"


def credentials_file(secret=SECRET):
    return f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {secret}\n"


def drop_took(data):
    """The answer without its timings (`took`, at any depth: _msearch has one per search)."""
    if isinstance(data, dict):
        return {k: drop_took(v) for k, v in data.items() if k != "took"}
    if isinstance(data, list):
        return [drop_took(v) for v in data]
    return data


def without_took(status, body):
    try:
        return status, drop_took(json.loads(body))
    except ValueError:
        return status, body


def test_unsigned_clients_get_opensearchs_answers_through_sigproxy_and_a_verifying_front(nodes, stack):
    node = nodes.get()
    lines = []
    for i in range(60):
        index = ["sp-logs-a", "sp-logs-b", "sp-other"][i % 3]
        lines += [{"index": {"_index": index, "_id": f"d{i}"}},
                  {"msg": ["disk full", "all good", "slow query"][i % 3 if i % 7 else 0],
                   "level": "error" if i % 4 == 0 else "info", "n": i, "path": f"/var/log/app{i % 2}.log"}]
    assert not node.bulk(lines)["errors"]
    node.ok("POST", "/sp-*/_refresh")

    front = stack(Forwarder(node.url, verify=lambda m, t, hd, b: sigv4_check((KEY, SECRET), "eu-west-1", "es",
                                                                              m, t, hd, b)))
    proxy = stack(Sigproxy(front.url, ["--region", "eu-west-1", "--service", "es"],
                           credentials=credentials_file()))
    search = {"size": 5, "query": {"bool": {"must": {"match": {"msg": "disk"}},
                                            "filter": {"range": {"n": {"gte": 3}}}}},
              "sort": [{"n": "desc"}], "aggs": {"levels": {"terms": {"field": "level.keyword"}}}}
    # (method, target exactly as sent, body)
    cases = [
        ("GET", "/", None),
        ("POST", "/sp-logs-*,sp-other/_search", search),
        ("GET", "/sp-logs-a,sp-logs-b/_count?q=level:error", None),
        ("GET", "/sp-logs-*/_count?q=msg:%22disk%20full%22", None),
        ("GET", "/sp-*/_search?q=path:%22%2Fvar%2Flog%2Fapp1.log%22&size=3&sort=n:asc", None),
        ("GET", "/sp-logs-*/_mapping", None),
        ("GET", "/_cat/indices/sp-*?v&h=index,docs.count&s=index", None),
        ("POST", "/sp-other/_msearch", None),
        ("GET", "/sp-missing/_search", None),
        ("GET", "/sp-logs-a/_doc/d0", None),
        ("HEAD", "/sp-logs-a", None),
    ]
    msearch = (json.dumps({}) + "\n" + json.dumps({"query": {"match_all": {}}, "size": 1}) + "\n"
               + json.dumps({"index": "sp-logs-a"}) + "\n" + json.dumps({"size": 0}) + "\n").encode()
    statuses = []
    for method, target, body in cases:
        data = msearch if target.endswith("_msearch") else (json.dumps(body).encode() if body else b"")
        headers = {"Content-Type": "application/x-ndjson" if target.endswith("_msearch") else "application/json"} if data else {}
        via = proxy.request(method, target, data, headers)
        direct = raw_request(node.url.replace("http://", ""), method, target, data, headers)
        assert via[0] == direct[0], f"{method} {target}: {via[0]} through the proxy, {direct[0]} directly: {via[2][:500]}"
        assert without_took(via[0], via[2]) == without_took(direct[0], direct[2]), f"{method} {target}"
        statuses.append(via[0])
    assert statuses.count(404) == 1 and statuses.count(200) == len(cases) - 1, statuses

    # `requests` and opensearch-py, unsigned, against the proxy and straight at OpenSearch.
    for params in ({"q": "level:error", "size": 20, "sort": "n:asc"}, {"q": "*", "size": 0}):
        a = requests.get(f"{proxy.url}/sp-logs-*,sp-other/_search", params=params, timeout=30)
        b = requests.get(f"{node.url}/sp-logs-*,sp-other/_search", params=params, timeout=30)
        assert without_took(a.status_code, a.content) == without_took(b.status_code, b.content)
    via, direct = OpenSearch(hosts=[proxy.url], timeout=30), OpenSearch(hosts=[node.url], timeout=30)
    for call in (lambda c: c.search(index="sp-logs-*,sp-other", body=search),
                 lambda c: c.count(index="sp-logs-*", body={"query": {"term": {"level.keyword": "error"}}}),
                 lambda c: c.cat.indices(index="sp-*", format="json", s="index", h="index,docs.count"),
                 lambda c: c.indices.get_mapping(index="sp-logs-a"),
                 lambda c: c.get(index="sp-other", id="d2")):
        assert drop_took(call(via)) == drop_took(call(direct))
    with pytest.raises(NotFoundError) as through:
        via.search(index="sp-missing", body={"query": {"match_all": {}}})
    with pytest.raises(NotFoundError) as straight:
        direct.search(index="sp-missing", body={"query": {"match_all": {}}})
    assert through.value.info == straight.value.info
    assert front.refused == [], front.refused

    # The front does verify: unsigned, or signed with the wrong secret, gets 403.
    assert raw_request(front.addr, "GET", "/sp-logs-a/_count")[0] == 403
    impostor = stack(Sigproxy(front.url, ["--region", "eu-west-1", "--service", "es"],
                              credentials=credentials_file("not-the-secret")))
    assert impostor.request("GET", "/sp-logs-a/_count")[0] == 403
    assert [why for _, _, why in front.refused] == ["no SigV4 Authorization header", "signature mismatch"]
    print(f"\n[f] {len(cases)} raw requests + 2 requests + 6 opensearch-py calls identical through "
          f"sigproxy -> SigV4-verifying front -> OpenSearch; unsigned and wrong-secret: 403")


# ============================================================================================
# d. OpenSearch killed with SIGKILL mid-delivery and restarted


def test_opensearch_killed_mid_delivery_and_restarted_gets_every_acknowledged_record_once(nodes, stack):
    node = nodes.get()
    h = stack(HydrantServer(hydrant_config(node.url, es='index = "outage"\nrotation = "NoRotation"\n'
                                                         'max_bulk_documents = 200\nconnect_timeout = "2s"\n')))
    shipper = Shipper(h, "web", batch=200, limit=6000, pause=0.05, stop_on_error=False)
    shipper.start()
    wait_until("delivery under way", lambda: node.count("outage") > 0, 30, 0.05)
    node.kill9()
    killed_at = time.time()
    acked_at_kill = len(shipper.acked)
    # Hydrant notices (its retries count up) and goes on acknowledging records meanwhile.
    wait_until("a failed delivery", lambda: h.es_metric("delivery_retries_total", "web") > 0, 30)
    wait_until("records acknowledged while the cluster is down",
               lambda: len(shipper.acked) >= acked_at_kill + 1000 or not shipper.is_alive(), 30)
    node.restart()
    down_s = time.time() - killed_at
    shipper.join(120)
    assert not shipper.is_alive() and not shipper.errors, shipper.errors
    acked = dict(shipper.acked)
    assert len(acked) == 6000

    t0 = time.time()
    wait_delivered(h, node, "web", "outage", len(acked), 120)
    catch_up_s = time.time() - t0
    docs = node.docs("outage")
    ids = {d["_id"]: d["_source"]["seq"] for d in docs}
    by_seq(docs)
    assert len(docs) == len(ids) == len(acked), f"{len(docs)} on OpenSearch for {len(acked)} acknowledged"
    assert ids == acked
    overwritten = sum(d["_version"] > 1 for d in docs)
    retries = h.es_metric("delivery_retries_total", "web")
    assert h.error_records() == [] and h.es_metric("error_output_records_total", "web") == 0
    print(f"\n[d] node down {down_s:.1f}s (SIGKILL, restart on the same data and port); "
          f"{len(acked)} acknowledged ({len(acked) - acked_at_kill} after the kill), all on OpenSearch once "
          f"{catch_up_s:.1f}s after the restart; {int(retries)} retries; {overwritten} re-sent and overwritten")


# ============================================================================================
# c. 429s for real: a node with a write queue of 1


def test_429s_from_a_tiny_write_queue_are_retried_alone_until_every_record_is_in_once(nodes, stack):
    node = nodes.get(TINY_WRITE_QUEUE)
    tap = BulkTap()
    fwd = stack(Forwarder(node.url, observe=tap))
    h = stack(HydrantServer(hydrant_config(fwd.url, es='index = "throttled"\nrotation = "NoRotation"\n'
                                                        'max_bulk_documents = 25\nmax_concurrent_requests = 8\n')))
    rejected_before = node.write_rejections()
    n = 200  # 8 requests of 25, all at once: a pool of 1 and a queue of 1 cannot take them
    t0 = time.time()
    ids = h.ship_bulk("web", [{"seq": s, "msg": f"event {s}"} for s in range(n)])
    assert None not in ids
    wait_delivered(h, node, "web", "throttled", n, 150)
    took = time.time() - t0

    retries = h.es_metric("delivery_retries_total", "web")
    assert retries > 0, "no retry: the node never pushed back"
    assert node.write_rejections() > rejected_before
    item_429 = sum(1 for status, items in tap.exchanges if status == 200 for _, s in items if s == 429)
    whole_429 = sum(1 for status, _ in tap.exchanges if status == 429)
    assert item_429 > 0, f"no item-level 429 among {len(tap.exchanges)} _bulk requests"

    # Retried alone: once a document was answered 2xx it is never sent again, and a document
    # is sent again only after a 429.
    done, last = set(), {}
    for _, items in tap.exchanges:
        for i, s in items:
            assert i not in done, f"{i} sent again after it was indexed"
            assert i not in last or last[i] == 429, f"{i} re-sent after {last.get(i)}"
            last[i] = s
            if 200 <= s < 300:
                done.add(i)
    assert done == set(ids)

    docs = node.docs("throttled")
    seqs = by_seq(docs)
    assert set(seqs) == set(range(n)) and len(docs) == n
    assert all(seqs[s]["_id"] == ids[s] and seqs[s]["_version"] == 1 for s in range(n))
    assert h.error_records() == [] and h.es_metric("error_output_records_total", "web") == 0
    sent = sum(len(items) for _, items in tap.exchanges)
    print(f"\n[c] {n} records in {took:.1f}s through a write queue of 1: {len(tap.exchanges)} _bulk requests, "
          f"{sent} documents sent, {item_429} item-level 429s, {whole_429} whole-request 429s, "
          f"{int(retries)} retries, 0 in the error output, every document _version 1")
