"""The server process's garbage-collector settings (realtime/gc_tuning.py)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_server_process_applies_gc_settings_and_refuses_bad_ones():
    probe = (
        "import gc, realtime.asgi; "
        "print(gc.get_threshold(), gc.get_freeze_count() > 10000)"
    )
    env = {"DJANGO_SECRET_KEY": "x", "REALTIME_GC_THRESHOLDS": "1234,5,6"}
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True
    )
    assert run.stdout.decode().strip() == "(1234, 5, 6) True", run.stderr.decode()
    env["REALTIME_GC_THRESHOLDS"] = "1234,5"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True
    )
    assert run.returncode != 0
    assert b"REALTIME_GC_THRESHOLDS must be three positive integers" in run.stderr
