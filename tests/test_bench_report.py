"""The benchmark report: each goal's ratio is the median of its rounds' ratios."""

from bench import report


def row(scenario: str, app: str, round_number: int, **fields: float) -> dict:
    return {
        "scenario": scenario,
        "app": app,
        "server": "uvicorn",
        "round": round_number,
        **fields,
    }


def test_ratio_is_the_median_of_paired_rounds():
    project = [60_000, 30_000, 66_000]  # round 1 was a slow spell for project
    bare = [50_000, 60_000, 55_000]
    runs = [
        row("fanout", "project", n, deliveries_per_second=v)
        for n, v in enumerate(project)
    ]
    runs += [
        row("fanout", "bare", n, deliveries_per_second=v) for n, v in enumerate(bare)
    ]
    (ratio,) = [
        r for r in report.ratios({"runs": runs}) if r["measure"].endswith("vs bare")
    ]
    assert ratio["rounds"] == [1.2, 0.5, 1.2]
    assert ratio["ratio"] == 1.2 and ratio["met"] is True
    assert (ratio["project"], ratio["other"]) == (60_000, 55_000)


def test_a_round_missing_one_side_is_left_out():
    runs = [
        row("latency", "project", 0, p99_ms=30.0),
        row("latency", "bare", 0, p99_ms=20.0),
        row("latency", "project", 1, p99_ms=90.0),  # its bare run failed
    ]
    (ratio,) = report.ratios({"runs": runs})
    assert ratio["rounds"] == [1.5]
    assert ratio["met"] is True  # ≤ 1.5


def test_lower_is_better_goals_fail_above_the_goal():
    runs = [
        row("idle_memory", "project", 0, kb_per_connection=40.0),
        row("idle_memory", "bare", 0, kb_per_connection=20.0),
    ]
    memory = [r for r in report.ratios({"runs": runs}) if "memory" in r["measure"]]
    assert memory[0]["ratio"] == 2.0 and memory[0]["met"] is False
