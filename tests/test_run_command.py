"""The README's run command brings up the whole system on a fresh database."""

import json
import os
import signal
import subprocess
import time
import urllib.request

from tests.conftest import API_TOKEN, ROOT, free_port, wait_for_http


def test_bin_run_serves_pages_and_runs_jobs(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "REALTIME_API_TOKEN": API_TOKEN,
        "REALTIME_REDIS_PREFIX": os.environ["REALTIME_REDIS_PREFIX"] + ":run",
        "JOB_KIND_MODULES": "tests.dashboard.kinds_for_tests",
    }
    process = subprocess.Popen(
        ["bin/run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base + "/healthz", timeout=120)
        with urllib.request.urlopen(base + "/chat/lobby/", timeout=10) as page:
            assert page.status == 200
        request = urllib.request.Request(
            base + "/api/jobs",
            data=json.dumps({"kind": "test_steps", "params": {"steps": 2}}).encode(),
            method="POST",
        )
        request.add_header("Authorization", f"Bearer {API_TOKEN}")
        with urllib.request.urlopen(request, timeout=10) as response:
            job = json.loads(response.read())
        deadline = time.monotonic() + 60
        while job["state"] != "success" and time.monotonic() < deadline:
            time.sleep(0.3)
            poll = urllib.request.Request(f"{base}/api/jobs/{job['id']}")
            poll.add_header("Authorization", f"Bearer {API_TOKEN}")
            with urllib.request.urlopen(poll, timeout=10) as response:
                job = json.loads(response.read())
        assert job["state"] == "success"  # the worker that bin/run started ran it
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
