"""A real Celery worker (subprocess) on the real Redis broker."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.dashboard.kinds_for_tests  # noqa: F401 - test job kinds
from tests.conftest import ROOT, ServerProcess


WEBHOOK_SECRET = "test-webhook-secret"


class WorkerProcess:
    def __init__(self, server: ServerProcess) -> None:
        self.env = {
            **server.env,
            "JOB_RETRY_BACKOFF_MAX": "1",
            "REALTIME_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REALTIME_WEBHOOK_ALLOW_PRIVATE": "1",
        }
        self.log_path = ROOT / "var" / f"worker-{server.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        celery = str(Path(sys.executable).parent / "celery")
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                celery,
                "-A",
                "realtime",
                "worker",
                "-P",
                "prefork",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while b"ready." not in self.log_path.read_bytes():
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.2)
        return self

    def child_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
            self.log.close()


@pytest.fixture(scope="session")
def worker(server: ServerProcess) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(server).start()
    yield proc
    proc.stop()
