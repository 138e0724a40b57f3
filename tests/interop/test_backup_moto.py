"""Backup to S3 as an independent server sees it: moto (PyPI) plays S3, credentials come from a
named profile in a shared credentials file, and the objects are read back with boto3, gzip,
pyarrow and DuckDB."""

import gzip
import io
import json
import os
import socket
import time
import uuid

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def moto_s3(tmp_path):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = tmp_path / "credentials"
    creds.write_text("[backup-writer]\naws_access_key_id = AKIDBACKUP\naws_secret_access_key = secretbackup\n")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="AKIDBACKUP", aws_secret_access_key="secretbackup")
    # moto keeps its buckets for the whole process: each test gets its own.
    bucket = f"hydrant-backup-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    yield endpoint, s3, str(creds), bucket
    server.stop()


def hydrant_env(endpoint, creds_file, bucket, fmt):
    env = {
        "HYDRANT_STORAGE__KIND": "s3",
        "HYDRANT_STORAGE__BUCKET": bucket,
        "HYDRANT_STORAGE__ENDPOINT": endpoint,
        "HYDRANT_DEFAULTS__BACKUP__MODE": "AllDocuments",
        "HYDRANT_DEFAULTS__BACKUP__PREFIX": "backup/",
        "HYDRANT_DEFAULTS__BACKUP__FORMAT": fmt,
        "AWS_SHARED_CREDENTIALS_FILE": creds_file,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_PROFILE": "backup-writer",
    }
    # The profile, not the environment, must be where the credentials come from.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)
    return env


def ship(h, n):
    lines = [json.dumps({"n": i, "service": "api", "latency_ms": i * 1.5}) for i in range(n)]
    import requests
    r = requests.post(f"{h.url}/v1/streams/orders/records", data="\n".join(lines) + "\n",
                      headers={"content-type": "application/x-ndjson"}, timeout=60)
    assert r.status_code == 200, r.text
    return lines


def backup_objects(s3, bucket):
    resp = s3.list_objects_v2(Bucket=bucket, Prefix="backup/")
    return [(o["Key"], s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
            for o in resp.get("Contents", [])]


def wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_gzip_ndjson_backup_lands_in_s3_with_profile_credentials(hydrant, moto_s3):
    endpoint, s3, creds, bucket = moto_s3
    h = hydrant(env=hydrant_env(endpoint, creds, bucket, "ndjson"))
    sent = ship(h, 300)

    def all_lines():
        lines = []
        for key, body in backup_objects(s3, bucket):
            assert key.endswith(".gz"), key
            lines += gzip.decompress(body).decode().splitlines()
        return lines if len(lines) >= len(sent) else None

    assert sorted(wait_for(all_lines)) == sorted(sent)


def test_parquet_backup_reads_in_pyarrow_and_duckdb(hydrant, moto_s3, tmp_path):
    endpoint, s3, creds, bucket = moto_s3
    h = hydrant(env=hydrant_env(endpoint, creds, bucket, "parquet"))
    ship(h, 200)

    def all_rows():
        rows = []
        for i, (key, body) in enumerate(backup_objects(s3, bucket)):
            assert key.endswith(".parquet"), key
            table = pq.read_table(io.BytesIO(body))
            assert {"n", "service", "latency_ms"} <= set(table.column_names)
            rows += table.column("n").to_pylist()
            (tmp_path / f"part{i}.parquet").write_bytes(body)
        return rows if len(rows) >= 200 else None

    assert sorted(wait_for(all_rows)) == list(range(200))
    total, avg = duckdb.sql(
        f"select count(*), avg(latency_ms) from read_parquet('{tmp_path}/*.parquet')").fetchall()[0]
    assert total == 200
    assert abs(avg - sum(i * 1.5 for i in range(200)) / 200) < 1e-9
