"""The official Elasticsearch Python client against Hydrant's search API."""

import datetime as dt

import pytest
import requests
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers

import search_corpus as corpus


def test_client_accepts_the_server_and_searches(hydrant):
    h = hydrant()
    lines = [
        '{"@timestamp":"2026-11-26T10:00:00Z","level":"error","msg":"disk full"}',
        '{"@timestamp":"2026-11-26T10:00:01Z","level":"info","msg":"recovered"}',
    ]
    r = requests.post(
        f"{h.url}/v1/streams/app/records?refresh=wait_for",
        data="\n".join(lines) + "\n",
        headers={"content-type": "application/x-ndjson"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    es = Elasticsearch(h.url)
    info = es.info()
    assert info["version"]["number"].startswith("8.")
    assert es.count(index="app")["count"] == 2
    res = es.search(index="app", query={"match": {"msg": "disk"}})
    assert res["hits"]["total"]["value"] == 1
    assert res["hits"]["hits"][0]["_source"]["level"] == "error"
    res = es.search(index="app", q="level:info", sort="@timestamp:desc")
    assert [hit["_source"]["msg"] for hit in res["hits"]["hits"]] == ["recovered"]


@pytest.fixture
def weblogs(hydrant):
    """A server holding the corpus in stream `weblogs`, shipped with the client's bulk helper."""
    h = hydrant()
    es = Elasticsearch(h.url, request_timeout=60)
    recs = corpus.records()
    actions = ({"_index": "weblogs", "_source": r} for r in recs)
    ok, errors = helpers.bulk(es, actions, chunk_size=400, refresh="wait_for")
    assert (ok, errors) == (len(recs), [])
    assert h.wait_count("weblogs", len(recs)) == len(recs)
    return es, recs


def test_info_names_an_elasticsearch_8_cluster(weblogs):
    es, _ = weblogs
    info = es.info()
    assert info["version"]["number"].startswith("8.")
    assert info["tagline"] == "You Know, for Search"
    assert info["cluster_name"]


def test_search_aggregations_match_the_records(weblogs):
    es, recs = weblogs
    gte = corpus.START + dt.timedelta(hours=7)
    lte = corpus.START + dt.timedelta(hours=60)
    res = es.search(index="weblogs", **corpus.search_body(gte, lte))
    corpus.check_search(res.body, recs, gte, lte)


def test_count_with_dsl_and_lucene_queries(weblogs):
    es, recs = weblogs
    assert es.count(index="weblogs")["count"] == len(recs)
    assert es.count(index="weblogs", query={"term": {"ok": False}})["count"] == sum(not r["ok"] for r in recs)
    assert es.count(index="weblogs", q="service:api AND status:[400 TO 599]")["count"] == sum(
        r["service"] == "api" and 400 <= r["status"] <= 599 for r in recs
    )
    # Every daily index answers for its own day.
    days = sorted({r["@timestamp"][:10] for r in recs})
    assert len(days) >= 3
    for day in days:
        assert es.count(index=f"weblogs-{day}")["count"] == sum(r["@timestamp"].startswith(day) for r in recs)


def test_msearch_answers_each_search_on_its_own(weblogs):
    es, recs = weblogs
    res = es.msearch(
        searches=[
            {"index": "weblogs"},
            {"size": 0, "track_total_hits": True, "query": {"match": {"msg": "timeout"}}},
            {"index": "weblogs"},
            {"query": {"query_string": {"query": "service:(api"}}},
            {"index": "no-such-logs"},
            {"query": {"match_all": {}}},
            {"index": "weblogs", "ignore_unavailable": True},
            {"size": 0, "aggs": {"s": {"terms": {"field": "status"}}}},
        ]
    )
    first, broken, missing, last = res["responses"]
    assert first["status"] == 200
    assert first["hits"]["total"]["value"] == sum("timeout" in r["msg"].split() for r in recs)
    assert broken["status"] == 400
    assert broken["error"]["type"] in ("query_shard_exception", "parsing_exception", "search_phase_execution_exception")
    assert missing["status"] == 404
    assert missing["error"]["type"] == "index_not_found_exception"
    assert last["status"] == 200
    want = {}
    for r in recs:
        want[r["status"]] = want.get(r["status"], 0) + 1
    assert {b["key"]: b["doc_count"] for b in last["aggregations"]["s"]["buckets"]} == want


def test_field_caps_types_and_aggregatability(weblogs):
    es, _ = weblogs
    corpus.check_field_caps(es.field_caps(index="weblogs", fields="*").body)
    caps = es.field_caps(index="weblogs-*", fields="status,service*")
    assert set(caps["fields"]) == {"status", "service", "service.keyword"}
    assert len(caps["indices"]) >= 3


def test_scan_returns_every_document_once(weblogs):
    es, recs = weblogs
    query = {"query": {"range": {"@timestamp": {"gte": "2026-03-28T00:00:00Z"}}}}
    seqs = [hit["_source"]["seq"] for hit in helpers.scan(es, index="weblogs", query=query, size=97)]
    want = sorted(r["seq"] for r in recs if r["@timestamp"] >= "2026-03-28")
    assert len(seqs) == len(set(seqs)), "a document came twice"
    assert sorted(seqs) == want
    # preserve_order pages through sorted results: the same documents, newest first.
    ordered = list(helpers.scan(es, index="weblogs", query={**query, "sort": [{"@timestamp": "desc"}]},
                                preserve_order=True, size=250))
    stamps = [hit["_source"]["@timestamp"] for hit in ordered]
    assert stamps == sorted(stamps, reverse=True)
    assert sorted(hit["_source"]["seq"] for hit in ordered) == want


def test_client_errors_are_elasticsearch_errors(weblogs):
    es, _ = weblogs
    with pytest.raises(NotFoundError) as e:
        es.search(index="no-such-logs")
    assert e.value.meta.status == 404
    assert e.value.body["error"]["type"] == "index_not_found_exception"
    with pytest.raises(BadRequestError) as e:
        es.search(index="weblogs", aggs={"g": {"geo_grid": {"field": "x"}}})
    assert e.value.body["error"]["type"] in ("illegal_argument_exception", "parsing_exception", "x_content_parse_exception")
    assert "geo_grid" in e.value.body["error"]["reason"]


def test_cat_indices_and_shards_read_by_the_client(weblogs):
    """`_cat` output as the client reads it: JSON rows, and the `v` text table scripts parse."""
    es, recs = weblogs
    per_day = {}
    for r in recs:
        name = "weblogs-" + r["@timestamp"][:10]  # OneDay rotation by the record's @timestamp
        per_day[name] = per_day.get(name, 0) + 1
    rows = es.cat.indices(index="weblogs*", format="json", bytes="b")
    by_name = {row["index"]: row for row in rows}
    assert set(by_name) == set(per_day)
    for name, n in per_day.items():
        row = by_name[name]
        assert int(row["docs.count"]) == n, row
        assert row["health"] == "green" and row["status"] == "open"
        assert int(row["pri"]) >= 1 and int(row["rep"]) == 0
        assert int(row["store.size"]) > 0 and row["uuid"]
    text = es.cat.indices(index="weblogs*", v=True, h="index,docs.count", s="index")
    lines = str(text).strip().splitlines()
    assert lines[0].split() == ["index", "docs.count"]
    assert [line.split() for line in lines[1:]] == [[k, str(per_day[k])] for k in sorted(per_day)]
    shards = es.cat.shards(index="weblogs*", format="json")
    docs = {}
    for s in shards:
        assert s["prirep"] == "p" and s["state"] == "STARTED"
        docs[s["index"]] = docs.get(s["index"], 0) + int(s["docs"])
    assert docs == per_day
    shard_count = {name: int(by_name[name]["pri"]) for name in per_day}
    assert len(shards) == sum(shard_count.values())


def test_geo_points_from_a_template_answer_map_requests(hydrant):
    """A Logstash-style template maps `geoip.location` as a geo_point; the client's bulk helper
    ships points in three forms; a Kibana Maps request (extent filter, tile grid, centroids)
    and a nearest-first sort answer as computed here."""
    import math

    h = hydrant()
    es = Elasticsearch(h.url, request_timeout=60)
    es.indices.put_index_template(
        name="geo-logs",
        index_patterns=["geo-logs*"],
        template={"mappings": {"properties": {
            "geoip": {"properties": {"location": {"type": "geo_point"}}},
            "city": {"type": "keyword"},
        }}},
    )
    cities = {"amsterdam": (52.37, 4.90), "paris": (48.86, 2.35), "tokyo": (35.68, 139.65)}
    docs = []
    for i in range(90):
        city = list(cities)[i % 3]
        lat, lon = cities[city]
        lat, lon = round(lat + (i % 10) * 0.01, 4), round(lon - (i % 7) * 0.01, 4)
        form = [{"lat": lat, "lon": lon}, f"{lat},{lon}", [lon, lat]][i % 3]
        docs.append({"_index": "geo-logs", "_id": str(i), "_source": {
            "@timestamp": "2026-11-26T10:00:00Z", "city": city, "geoip": {"location": form}}})
    ok, errors = helpers.bulk(es, docs, refresh="wait_for")
    assert ok == 90 and not errors
    mapping = es.indices.get_mapping(index="geo-logs")
    props = next(iter(mapping.body.values()))["mappings"]["properties"]
    assert props["geoip"]["properties"]["location"]["type"] == "geo_point"

    res = es.search(index="geo-logs", size=0, query={"bool": {"filter": [{"geo_bounding_box": {
        "geoip.location": {"top_left": {"lat": 60, "lon": -10}, "bottom_right": {"lat": 40, "lon": 20}}}}]}},
        aggs={"grid": {"geotile_grid": {"field": "geoip.location", "precision": 5},
                       "aggs": {"c": {"geo_centroid": {"field": "geoip.location"}}}}})
    assert res["hits"]["total"]["value"] == 60
    grid = res["aggregations"]["grid"]["buckets"]
    assert sum(b["doc_count"] for b in grid) == 60
    for b in grid:
        z, x, y = map(int, b["key"].split("/"))
        c = b["c"]["location"]
        # The centroid lies in its tile.
        n = 2 ** z
        assert x == int((c["lon"] + 180) / 360 * n)
        lat = math.radians(c["lat"])
        assert y == int((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * n)

    res = es.search(index="geo-logs", size=3, query={"geo_distance": {
        "distance": "50km", "geoip.location": {"lat": 35.68, "lon": 139.65}}},
        sort=[{"_geo_distance": {"geoip.location": "35.68,139.65", "unit": "km"}}])
    assert res["hits"]["total"]["value"] == 30
    assert all(h["_source"]["city"] == "tokyo" for h in res["hits"]["hits"])
    dists = [h["sort"][0] for h in res["hits"]["hits"]]
    assert dists == sorted(dists) and dists[0] < 1.0
