"""Firehose's data transformation through ingest pipelines, driven by boto3: CloudWatch Logs
subscription records (gzip JSON) split into one document per log event by the built-in
`cloudwatch_logs` pipeline, control messages dropped, and records a pipeline refuses written to
the error output under `processing-failed/` with their raw data — acknowledged, never lost."""

import base64
import glob
import gzip
import json
import os

import boto3
import requests

CONFIG = """
[pipelines.stamp]
processors = [ { set = { field = "via", value = "{{_ingest.pipeline}}" } } ]

[pipelines.numbers]
processors = [ { convert = { field = "n", type = "integer" } } ]

[streams.cw]
pipeline = "cloudwatch_logs"
final_pipeline = "stamp"

[streams.nums]
pipeline = "numbers"
"""


def firehose(url):
    return boto3.client(
        "firehose",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    )


def envelope(kind, group, stream, events):
    body = {
        "messageType": kind,
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["to-firehose"],
        "logEvents": events,
    }
    return gzip.compress(json.dumps(body).encode())


def test_cloudwatch_logs_records_become_one_document_per_event(hydrant):
    h = hydrant(config=CONFIG)
    fh = firehose(h.url)
    t0 = 1764756000000
    a = [{"id": f"a{i}", "timestamp": t0 + i, "message": f"GET /a/{i} 200"} for i in range(3)]
    b = [{"id": f"b{i}", "timestamp": t0 + 100 + i, "message": f"ERROR job {i} failed"} for i in range(2)]
    control = [{"id": "", "timestamp": t0, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]
    resp = fh.put_record_batch(
        DeliveryStreamName="cw",
        Records=[
            {"Data": envelope("DATA_MESSAGE", "/aws/lambda/web", "s1", a)},
            {"Data": envelope("CONTROL_MESSAGE", "", "", control)},
            {"Data": envelope("DATA_MESSAGE", "/aws/ecs/jobs", "s2", b)},
        ],
    )
    assert resp["FailedPutCount"] == 0, resp
    assert all("RecordId" in r for r in resp["RequestResponses"])
    assert h.wait_count("cw", 5) == 5
    r = requests.post(f"{h.url}/cw/_search", json={"size": 10, "sort": [{"@timestamp": "asc"}]}, timeout=30).json()
    docs = [hit["_source"] for hit in r["hits"]["hits"]]
    # Each log event once, with its group, stream, id and time; the control message is gone.
    assert [d["event"]["id"] for d in docs] == ["a0", "a1", "a2", "b0", "b1"]
    assert docs[0]["message"] == "GET /a/0 200"
    assert docs[0]["@timestamp"] == "2025-12-03T10:00:00.000Z"
    assert docs[3]["aws"]["cloudwatch"]["log_group"] == "/aws/ecs/jobs"
    assert docs[3]["aws"]["cloudwatch"]["log_stream"] == "s2"
    assert all(d["via"] == "stamp" for d in docs), docs
    assert h.count("cw", 'aws.cloudwatch.log_group:"/aws/lambda/web"') == 3
    assert h.count("cw", "CONTROL") == 0


def test_records_a_pipeline_refuses_go_to_processing_failed_and_the_rest_are_kept(hydrant):
    h = hydrant(config=CONFIG)
    fh = firehose(h.url)
    records = [json.dumps({"n": str(i)}).encode() for i in range(4)] + [b'{"n": "not a number"}', b"plain text"]
    resp = fh.put_record_batch(DeliveryStreamName="nums", Records=[{"Data": d} for d in records])
    # Firehose acknowledges every record: processing failures are delivered to the error output.
    assert resp["FailedPutCount"] == 0, resp
    assert h.wait_count("nums", 4) == 4
    r = requests.post(f"{h.url}/nums/_search", json={"size": 10, "sort": [{"n": "asc"}]}, timeout=30).json()
    assert [hit["_source"]["n"] for hit in r["hits"]["hits"]] == [0, 1, 2, 3]
    files = glob.glob(os.path.join(h.data_dir, "objects", "**", "processing-failed", "**", "*"), recursive=True)
    files = [f for f in files if os.path.isfile(f)]
    assert files, "no processing-failed object in " + h.data_dir
    lines = []
    for f in files:
        raw = open(f, "rb").read()
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        lines += [json.loads(line) for line in text.splitlines() if line.strip()]
    assert sorted(base64.b64decode(l["rawData"]) for l in lines) == sorted(records[4:])
    by_data = {base64.b64decode(l["rawData"]): l for l in lines}
    assert by_data[b'{"n": "not a number"}']["errorMessage"] == "unable to convert [not a number] to integer"
    assert by_data[b'{"n": "not a number"}']["errorCode"] == "illegal_argument_exception"
    assert "not present" in by_data[b"plain text"]["errorMessage"]
