"""opensearch-py (the client Amazon OpenSearch Service users have) against Hydrant's search API."""

import datetime as dt

import pytest
from opensearchpy import NotFoundError, OpenSearch, RequestError, helpers

import search_corpus as corpus


@pytest.fixture
def weblogs(hydrant):
    """A server holding the corpus in stream `weblogs`, shipped with opensearch-py's bulk helper."""
    h = hydrant()
    client = OpenSearch(hosts=[h.url], timeout=60)
    recs = corpus.records(seed=23)
    actions = ({"_index": "weblogs", "_source": r} for r in recs)
    ok, errors = helpers.bulk(client, actions, chunk_size=300, refresh="wait_for")
    assert (ok, errors) == (len(recs), [])
    assert h.wait_count("weblogs", len(recs)) == len(recs)
    return client, recs


def test_info(weblogs):
    client, _ = weblogs
    info = client.info()
    assert info["version"]["number"]
    assert info["tagline"] == "You Know, for Search"


def test_search_aggregations_match_the_records(weblogs):
    client, recs = weblogs
    gte = corpus.START + dt.timedelta(hours=3)
    lte = corpus.START + dt.timedelta(hours=55)
    res = client.search(index="weblogs", body=corpus.search_body(gte, lte))
    corpus.check_search(res, recs, gte, lte)


def test_count_with_dsl_and_lucene_queries(weblogs):
    client, recs = weblogs
    assert client.count(index="weblogs")["count"] == len(recs)
    assert client.count(index="weblogs", body={"query": {"term": {"ok": True}}})["count"] == sum(r["ok"] for r in recs)
    assert client.count(index="weblogs", q="ok:false")["count"] == sum(not r["ok"] for r in recs)
    assert client.count(index="weblogs-*", q="msg:timeout AND service:web")["count"] == sum(
        "timeout" in r["msg"].split() and r["service"] == "web" for r in recs
    )


def test_msearch_answers_each_search_on_its_own(weblogs):
    client, recs = weblogs
    res = client.msearch(
        body=[
            {"index": "weblogs"},
            {"size": 5, "sort": [{"@timestamp": "desc"}], "query": {"term": {"status": 503}}},
            {"index": "weblogs"},
            {"query": {"bool": {"must": {"no_such_query": {}}}}},
            {"index": "weblogs-*"},
            {"size": 0, "aggs": {"h": {"histogram": {"field": "status", "interval": 100}}}},
        ]
    )
    ok, broken, hist = res["responses"]
    assert ok["status"] == 200
    newest = sorted((r for r in recs if r["status"] == 503), key=lambda r: r["@timestamp"], reverse=True)
    assert ok["hits"]["total"]["value"] == len(newest)
    assert [h["_source"]["seq"] for h in ok["hits"]["hits"]] == [r["seq"] for r in newest[:5]]
    assert broken["status"] == 400
    assert broken["error"]["type"] in ("parsing_exception", "x_content_parse_exception")
    assert "no_such_query" in broken["error"]["reason"]
    assert hist["status"] == 200
    want = {}
    for r in recs:
        key = float(r["status"] // 100 * 100)
        want[key] = want.get(key, 0) + 1
    got = {b["key"]: b["doc_count"] for b in hist["aggregations"]["h"]["buckets"]}
    assert {k: v for k, v in got.items() if v} == want
    assert len(got) == 4, "empty 400-wide gaps are kept, as min_doc_count 0 does by default"


def test_field_caps_types_and_aggregatability(weblogs):
    client, _ = weblogs
    corpus.check_field_caps(client.field_caps(index="weblogs", fields="*"))


def test_scan_returns_every_document_once(weblogs):
    client, recs = weblogs
    query = {"query": {"bool": {"filter": [{"term": {"ok": True}}, {"range": {"latency": {"gte": 100}}}]}}}
    seqs = [hit["_source"]["seq"] for hit in helpers.scan(client, index="weblogs", query=query, size=64)]
    want = sorted(r["seq"] for r in recs if r["ok"] and r["latency"] >= 100)
    assert len(seqs) == len(set(seqs)), "a document came twice"
    assert sorted(seqs) == want


def test_client_errors_are_opensearch_exceptions(weblogs):
    client, _ = weblogs
    with pytest.raises(NotFoundError) as e:
        client.count(index="no-such-logs")
    assert e.value.error == "index_not_found_exception"
    with pytest.raises(RequestError) as e:
        client.search(index="weblogs", body={"from": 9_990, "size": 20})
    assert e.value.status_code == 400
    assert "result window is too large" in e.value.info["error"]["reason"].lower()
