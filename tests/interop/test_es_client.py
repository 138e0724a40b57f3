"""The official Elasticsearch Python client against Hydrant's search API."""

import requests
from elasticsearch import Elasticsearch


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
