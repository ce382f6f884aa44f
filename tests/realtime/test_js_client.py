"""Runs the JavaScript client's tests (Node's test runner) against a real server."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import API_TOKEN

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def test_js_client_reconnects_and_recovers(server):
    node = shutil.which("node")
    assert node, "Node.js is required for the client tests (apt-get install nodejs)"
    result = subprocess.run(
        [
            node,
            "--experimental-websocket",
            "--test",
            "--test-timeout=60000",
            "tests/js/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "SERVER_HTTP": server.http,
            "API_TOKEN": API_TOKEN,
        },
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
