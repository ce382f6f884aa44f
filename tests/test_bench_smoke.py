"""The benchmark suite runs end to end at tiny sizes (no speed is asserted)."""

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_suite_smoke_run_delivers_everything_and_writes_its_table(tmp_path):
    subprocess.run(
        [sys.executable, "bench/suite.py", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=600,
        capture_output=True,
    )
    results = json.loads((tmp_path / "results.json").read_text())
    scenarios = {(r["scenario"], r["app"], r["server"]) for r in results["runs"]}
    for server in ("daphne", "uvicorn"):
        for app in ("project", "tutorial", "bare"):
            assert ("fanout", app, server) in scenarios
    for row in results["runs"]:
        if row["scenario"] == "chat":
            assert row["deliveries_lost"] == 0 and row["errors"] == 0
        else:
            assert row["errors"] == 0, row
            assert row["received"] == row["expected"], row
    table = (tmp_path / "results.md").read_text()
    assert "| fan-out deliveries/s vs bare | uvicorn |" in table
