"""Turn the suite's results into the markdown table of docs/performance.md."""

from typing import Any

GOALS = [
    # (label, scenario, field, numerator app, denominator app, goal, higher is better)
    (
        "fan-out deliveries/s vs tutorial",
        "fanout",
        "deliveries_per_second",
        "project",
        "tutorial",
        5.0,
        True,
    ),
    (
        "fan-out deliveries/s vs bare",
        "fanout",
        "deliveries_per_second",
        "project",
        "bare",
        0.8,
        True,
    ),
    (
        "p99 latency, 10 msgs/s x subscribers, vs bare",
        "latency",
        "p99_ms",
        "project",
        "bare",
        1.5,
        False,
    ),
    (
        "idle memory per connection vs bare",
        "idle_memory",
        "kb_per_connection",
        "project",
        "bare",
        1.3,
        False,
    ),
    (
        "connect rate vs bare (logged in, reconnecting with a socket token)",
        "idle_memory",
        "connects_per_second",
        "project",
        "bare",
        0.7,
        True,
    ),
]

# Reported beside the goals, without one: the first connect of a logged-in
# browser (session cookie, no token yet) against the bare app's connect rate.
FIRST_CONNECT = ("first_connect", "idle_memory", "connects_per_second")


MET = {True: "yes", False: "NO", None: "(reported)"}


def find(results: dict[str, Any], scenario: str, app: str, server: str) -> dict:
    for row in results["runs"]:
        if (row["scenario"], row["app"], row["server"]) == (scenario, app, server):
            return row
    return {}


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label, scenario, field, top, bottom, goal, higher in GOALS:
        for server in ("daphne", "uvicorn"):
            a = find(results, scenario, top, server).get(field)
            b = find(results, scenario, bottom, server).get(field)
            if not a or not b:
                continue
            ratio = a / b
            met = ratio >= goal if higher else ratio <= goal
            rows.append(
                {
                    "measure": label,
                    "server": server,
                    "project": a,
                    "other": b,
                    "ratio": round(ratio, 2),
                    "goal": f"{'≥' if higher else '≤'} {goal}",
                    "met": met,
                }
            )
    first, bare_scenario, field = FIRST_CONNECT
    for server in ("daphne", "uvicorn"):
        a = find(results, first, "project", server).get(field)
        b = find(results, bare_scenario, "bare", server).get(field)
        if a and b:
            rows.append(
                {
                    "measure": "connect rate vs bare (first connect: session cookie)",
                    "server": server,
                    "project": a,
                    "other": b,
                    "ratio": round(a / b, 2),
                    "goal": "none",
                    "met": None,
                }
            )
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['date']}.",
        "",
        "| measure | server | this project | other | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ratios(results):
        lines.append(
            f"| {r['measure']} | {r['server']} | {r['project']} | {r['other']} | "
            f"{r['ratio']} | {r['goal']} | {MET[r['met']]} |"
        )
    lines += [
        "",
        "| scenario | app | server | clients | received/expected | "
        "deliveries/s | p50 ms | p99 ms | KB/conn | connects/s | errors | "
        "generator CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        if r["scenario"] == "chat":
            continue
        lines.append(
            f"| {r['scenario']} | {r['app']} | {r['server']} | {r['clients']} | "
            f"{r['received']}/{r['expected']} | {r['deliveries_per_second']} | "
            f"{r['p50_ms']} | {r['p99_ms']} | {r.get('kb_per_connection', '')} | "
            f"{r['connects_per_second']} | {r['errors']} | "
            f"{r['generator_cpu_share']} |"
        )
    chat = [r for r in results["runs"] if r["scenario"] == "chat"]
    if chat:
        c = chat[0]
        lines += [
            "",
            f"Chat ({c['server']}): {c['rooms']} rooms x {c['users_per_room']} users "
            f"x 0.5 msgs/s, stored in SQLite: {c['messages_sent']} messages, "
            f"{c['deliveries_expected']} deliveries expected, "
            f"{c['deliveries_lost']} lost, {c['errors']} errors, "
            f"p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms (goal: 0 lost, p99 ≤ 50 ms); "
            f"the generator's own loop lag: p99 {c.get('generator_lag_p99_ms')} ms, "
            f"max {c.get('generator_lag_max_ms')} ms.",
        ]
    return "\n".join(lines) + "\n"
