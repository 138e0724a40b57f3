"""Ingest through clients no one here wrote: boto3's Firehose client and the AWS CLI with an
endpoint override, and the elasticsearch client's bulk helpers."""

import json
import os
import subprocess

import boto3
import pytest
from elasticsearch import Elasticsearch, helpers

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def firehose_client():
    def make(url):
        return boto3.client(
            "firehose",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    return make


def test_boto3_put_record_batch_and_describe(hydrant, firehose_client):
    h = hydrant()
    fh = firehose_client(h.url)
    records = [{"Data": (json.dumps({"n": i, "src": "boto3"}) + "\n").encode()} for i in range(500)]
    resp = fh.put_record_batch(DeliveryStreamName="boto", Records=records)
    assert resp["FailedPutCount"] == 0
    assert len(resp["RequestResponses"]) == 500
    assert all("RecordId" in r for r in resp["RequestResponses"])
    one = fh.put_record(DeliveryStreamName="boto", Record={"Data": b'{"n": 500, "src": "boto3"}'})
    assert one["RecordId"]
    assert "boto" in fh.list_delivery_streams()["DeliveryStreamNames"]
    desc = fh.describe_delivery_stream(DeliveryStreamName="boto")["DeliveryStreamDescription"]
    assert desc["DeliveryStreamStatus"] == "ACTIVE"
    assert h.wait_count("boto", 501) == 501
    assert h.count("boto", "src:boto3") == 501


def test_boto3_sees_firehose_errors_as_exceptions(hydrant, firehose_client):
    h = hydrant(env={"HYDRANT_INGEST__AUTO_CREATE_STREAMS": "false"}, config="[streams.known]\n")
    fh = firehose_client(h.url)
    with pytest.raises(fh.exceptions.ResourceNotFoundException):
        fh.put_record_batch(DeliveryStreamName="missing", Records=[{"Data": b"{}"}])
    with pytest.raises(fh.exceptions.InvalidArgumentException):
        fh.put_record_batch(DeliveryStreamName="known", Records=[{"Data": b"{}"}] * 501)
    big = {"Data": b"x" * 1_024_001}
    resp = fh.put_record_batch(DeliveryStreamName="known", Records=[{"Data": b'{"ok":1}'}, big])
    assert resp["FailedPutCount"] == 1
    assert resp["RequestResponses"][1]["ErrorCode"] == "InvalidArgumentException"


def test_aws_cli_put_record_batch(hydrant):
    h = hydrant()
    aws = os.path.join(os.path.dirname(os.path.realpath(os.sys.executable)), "aws")
    env = dict(os.environ, **AWS_ENV)
    records = json.dumps([{"Data": json.dumps({"src": "cli", "n": n})} for n in (1, 2)])
    args = [aws, "--endpoint-url", h.url, "firehose", "put-record-batch", "--delivery-stream-name", "cli",
            "--records", records]
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["FailedPutCount"] == 0
    out = subprocess.run([aws, "--endpoint-url", h.url, "firehose", "list-delivery-streams"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "cli" in json.loads(out.stdout)["DeliveryStreamNames"]
    assert h.wait_count("cli", 2) == 2
    assert h.count("cli", "src:cli") == 2


def test_elasticsearch_helpers_bulk(hydrant):
    h = hydrant()
    es = Elasticsearch(h.url)
    actions = ({"_index": "esbulk", "_id": f"doc-{i}", "_source": {"n": i, "even": i % 2 == 0}} for i in range(1000))
    ok, errors = helpers.bulk(es, actions, chunk_size=250, refresh="wait_for")
    assert ok == 1000 and errors == []
    assert es.count(index="esbulk")["count"] == 1000
    assert es.count(index="esbulk", q="even:true")["count"] == 500
    # streaming_bulk reports per-item failures without raising for the good ones.
    mixed = [{"_op_type": "index", "_index": "esbulk", "_source": {"n": 1}},
             {"_op_type": "delete", "_index": "esbulk", "_id": "doc-1"},
             {"_op_type": "update", "_index": "esbulk", "_id": "doc-2", "doc": {"n": -2}},
             {"_op_type": "update", "_index": "esbulk", "_id": "missing", "doc": {"n": 0}}]
    results = list(helpers.streaming_bulk(es, mixed, raise_on_error=False, refresh="wait_for"))
    assert [r[0] for r in results] == [True, True, True, False]
    assert results[3][1]["update"]["status"] == 404
    assert results[3][1]["update"]["error"]["type"] == "document_missing_exception"
    assert es.count(index="esbulk")["count"] == 1000
    assert es.get(index="esbulk", id="doc-2")["_source"]["n"] == -2
    assert not es.exists(index="esbulk", id="doc-1")
