"""Helpers for the sigproxy interop tests: the real `hydrant sigproxy`, a `moto` server, an
upstream that checks signatures with botocore, and a raw HTTP client."""

import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import BIN, ROOT

VENV_BIN = os.path.join(ROOT, ".venv", "bin")


class Sigproxy:
    """A running `hydrant sigproxy` with an environment of its own (no AWS settings of the
    machine's; metadata services disabled unless `env` sets them)."""

    def __init__(self, endpoint, args=(), env=None, credentials=None, config=None):
        self.tmp = tempfile.TemporaryDirectory()
        creds_file = os.path.join(self.tmp.name, "credentials")
        config_file = os.path.join(self.tmp.name, "config")
        with open(creds_file, "w") as f:
            f.write(credentials or "")
        with open(config_file, "w") as f:
            f.write(config or "")
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": self.tmp.name,
            "AWS_SHARED_CREDENTIALS_FILE": creds_file,
            "AWS_CONFIG_FILE": config_file,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HYDRANT_LOG": "info",
            "NO_COLOR": "1",
        }
        self.env.update(env or {})
        cmd = [BIN, "sigproxy", "--endpoint", endpoint, "--listen", "127.0.0.1:0", *args]
        self.proc = subprocess.Popen(cmd, env=self.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.logs = []
        self.addr = None
        found = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.logs.append(line.rstrip("\n"))
                m = re.search(r"listening on http://([0-9.:]+)", line)
                if m and not found.is_set():
                    self.addr = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + 30
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("sigproxy did not start:\n" + "\n".join(self.logs))
        self.url = f"http://{self.addr}"

    def request(self, method, target, body=b"", headers=None):
        """Sends `target` exactly as given (no URL normalisation) and returns
        (status, headers, body bytes)."""
        return raw_request(self.addr, method, target, body, headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


def raw_request(addr, method, target, body=b"", headers=None):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotocoreVerifier:
    """An upstream that recomputes each request's signature with botocore's SigV4Auth (as
    moto does) from what arrived on the wire, and answers 200 or 403 with what it saw."""

    def __init__(self, credentials, region, service):
        self.credentials = credentials
        self.region = region
        self.service = service
        verifier = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, result = verifier.check(self.command, self.path, self.headers, body)
                data = json.dumps(result).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, method, target, headers, body):
        auth_header = headers.get("Authorization", "")
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth_header)
        if not m:
            return 403, {"error": "no SigV4 authorization", "got": auth_header}
        key_id, _date, region, service, signed, signature = m.groups()
        signed = signed.split(";")
        creds = Credentials(self.credentials[0], self.credentials[1], headers.get("X-Amz-Security-Token"))
        request = AWSRequest(
            method=method,
            url="http://" + headers["Host"] + target,
            data=body,
            headers={k: v for k, v in headers.items() if k.lower() in signed},
        )
        request.context["timestamp"] = headers["X-Amz-Date"]
        auth = SigV4Auth(creds, self.service, self.region)
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        result = {
            "key": key_id,
            "region": region,
            "service": service,
            "signed_headers": signed,
            "target": target,
            "canonical_request": canonical,
            "body_sha256_matches": headers.get("X-Amz-Content-SHA256") == hashlib.sha256(body).hexdigest(),
        }
        ok = expected == signature and region == self.region and service == self.service
        return (200 if ok else 403), result

    def stop(self):
        self.server.shutdown()


class Moto:
    """A moto server (PyPI's AWS emulator) on loopback."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, MOTO_PORT=str(self.port))
        self.proc = subprocess.Popen(
            [os.path.join(VENV_BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.1)

    def enable_authentication(self):
        """From now on every request must be signed by a known IAM access key."""
        status, _, body = raw_request(f"127.0.0.1:{self.port}", "POST", "/moto-api/reset-auth", b"0")
        assert status == 200, body

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
