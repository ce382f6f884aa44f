"""Shared fixtures: a real server process, real Redis, WebSocket clients."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

import tests.dashboard.kinds_for_tests  # noqa: F401 - test job kinds
from realtime import redis_client
from tests.wsclient import WsClient

ROOT = Path(__file__).resolve().parent.parent
API_TOKEN = "test-api-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parsed = urllib.parse.urlparse(settings.DATABASE_URL)
    return urllib.parse.urlunparse(parsed._replace(path=f"/{name}"))


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    """Wait until the server answers HTTP at all (any status counts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")


class ServerProcess:
    """A real ASGI server (daphne or uvicorn) running realtime.asgi."""

    def __init__(self, *, server: str = "daphne", env: dict[str, str] | None = None):
        self.port = free_port()
        self.server = server
        inherited = {
            k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"
        }
        self.env = {
            **inherited,
            "DATABASE_URL": test_database_url(),
            "REALTIME_API_TOKEN": API_TOKEN,
            "REALTIME_PRESENCE_INTERVAL": "0.5",
            "REALTIME_PRESENCE_TTL": "2",
            "DJANGO_LOG_LEVEL": "WARNING",
            "JOB_KIND_MODULES": "tests.dashboard.kinds_for_tests",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def start(self) -> "ServerProcess":
        # bin/serve is the production command, so tests run the shipped flags.
        cmd = [str(ROOT / "bin" / "serve")]
        if self.server == "uvicorn":
            cmd += ["--log-level", "warning"]
        self.env.update(
            REALTIME_SERVER=self.server,
            PORT=str(self.port),
            HOST="127.0.0.1",
            VENV_BIN=str(Path(sys.executable).parent),
        )
        self.log = open(ROOT / "var" / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for_http(self.http + "/healthz")
        return self

    def stop(self, sig: int | None = None) -> None:
        if self.process is None:
            return
        if sig is not None:
            self.process.send_signal(sig)
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.log.close()

    def client(self, **kwargs: object) -> WsClient:
        return WsClient(self.ws_url, origin=self.http, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def clean_redis_prefix() -> Iterator[None]:
    """Remove every key this test session wrote (and only those)."""
    yield
    client = redis_client.sync_client()
    for key in client.scan_iter(match=f"{settings.REALTIME_REDIS_PREFIX}:*"):
        client.delete(key)


@pytest.fixture(scope="session")
def server(django_db_setup: None, django_db_blocker: object) -> Iterator[ServerProcess]:
    """One daphne process shared by the session's integration tests."""
    proc = ServerProcess().start()
    yield proc
    proc.stop()


@pytest.fixture
def make_user(transactional_db: None):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    def make(username: str, *, staff: bool = False):  # type: ignore[no-untyped-def]
        return get_user_model().objects.create_user(
            username, password="pw-for-tests", is_staff=staff
        )

    return make


@pytest.fixture
def session_cookie(transactional_db: None):  # type: ignore[no-untyped-def]
    """Log a user in through Django's session machinery; returns a Cookie header."""
    from django.test import Client

    def login(user) -> str:  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    return login


@pytest.fixture
def make_server(django_db_setup: None) -> Iterator[object]:
    """Start extra server processes with their own settings; stopped after the test."""
    started: list[ServerProcess] = []

    def make(server: str = "daphne", **env: str) -> ServerProcess:
        proc = ServerProcess(server=server, env=env).start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


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
