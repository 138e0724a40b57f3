"""Shared fixtures: start the real hydrant binary on a free loopback port."""

import os
import re
import subprocess
import tempfile
import threading
import time

import pytest
import requests

BIN = os.environ.get("INTEROP_HYDRANT_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/hydrant"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SHARED = os.path.join(ROOT, "tests/data")


class Hydrant:
    """A running `hydrant serve` with its own data directory."""

    def __init__(self, env=None, config=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.env = dict(os.environ, HYDRANT_LOG="info,tantivy=warn", NO_COLOR="1", **(env or {}))
        self.config = None
        if config is not None:
            self.config = os.path.join(self.tmp.name, "hydrant.toml")
            with open(self.config, "w") as f:
                f.write(config)
        self.logs = []
        self.proc = None
        self.url = None
        self.start()

    def start(self):
        args = [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir]
        if self.config:
            args += ["--config", self.config]
        self.proc = subprocess.Popen(args, env=self.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        found = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.logs.append(line.rstrip("\n"))
                m = re.search(r"listening on (https?://[0-9.:]+)", line)
                if m and not found.is_set():
                    self.url = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + 60
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.time() > deadline:
                self.proc.kill()
                time.sleep(0.2)
                raise RuntimeError(f"hydrant did not start (exit {self.proc.returncode}):\n" + "\n".join(self.logs))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def count(self, target, q=None):
        params = {"q": q} if q else {}
        r = requests.get(f"{self.url}/{target}/_count", params=params, timeout=30)
        r.raise_for_status()
        return r.json()["count"]

    def wait_count(self, target, expected, timeout=60):
        deadline = time.time() + timeout
        n = -1
        while time.time() < deadline:
            r = requests.get(f"{self.url}/{target}/_count", timeout=30)
            if r.status_code == 200:
                n = r.json()["count"]
                if n >= expected:
                    return n
            time.sleep(0.1)
        return n


@pytest.fixture
def hydrant():
    servers = []

    def make(env=None, config=None):
        s = Hydrant(env=env, config=config)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
        s.tmp.cleanup()
