"""Turn the suite's results into the markdown table of docs/performance.md."""

from statistics import median
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


def values(
    results: dict[str, Any], scenario: str, app: str, server: str, field: str
) -> dict[int, float]:
    """A field's value in each round of one scenario, app and server."""
    return {
        row.get("round", 0): row[field]
        for row in results["runs"]
        if (row["scenario"], row["app"], row["server"]) == (scenario, app, server)
        and row.get(field)
    }


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal's ratio: the median of the per-round ratios, each round's own."""
    rows = []
    for label, scenario, field, top, bottom, goal, higher in GOALS:
        for server in ("daphne", "uvicorn"):
            a = values(results, scenario, top, server, field)
            b = values(results, scenario, bottom, server, field)
            paired = sorted(set(a) & set(b))
            if not paired:
                continue
            per_round = [a[n] / b[n] for n in paired]
            ratio = median(per_round)
            met = ratio >= goal if higher else ratio <= goal
            rows.append(
                {
                    "measure": label,
                    "server": server,
                    "project": round(median(a[n] for n in paired), 1),
                    "other": round(median(b[n] for n in paired), 1),
                    "ratio": round(ratio, 2),
                    "rounds": [round(r, 2) for r in per_round],
                    "goal": f"{'≥' if higher else '≤'} {goal}",
                    "met": met,
                }
            )
    first, bare_scenario, field = FIRST_CONNECT
    for server in ("daphne", "uvicorn"):
        firsts = values(results, first, "project", server, field)
        bare = values(results, bare_scenario, "bare", server, field)
        if firsts and bare:
            project, other = median(firsts.values()), median(bare.values())
            rows.append(
                {
                    "measure": "connect rate vs bare (first connect: session cookie)",
                    "server": server,
                    "project": round(project, 1),
                    "other": round(other, 1),
                    "ratio": round(project / other, 2),
                    "rounds": [],
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
        "Ratios are the median of the rounds' ratios (each round runs the apps",
        "one after another); the values are the medians of the same rounds.",
        "",
        "| measure | server | this project | other | ratio | each round | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ratios(results):
        each = ", ".join(str(x) for x in r["rounds"])
        lines.append(
            f"| {r['measure']} | {r['server']} | {r['project']} | {r['other']} | "
            f"{r['ratio']} | {each} | {r['goal']} | {MET[r['met']]} |"
        )
    lines += [
        "",
        "| scenario | app | server | round | clients | received/expected | "
        "deliveries/s | p50 ms | p99 ms | KB/conn | connects/s | errors | "
        "generator CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        if r["scenario"] == "chat":
            continue
        lines.append(
            f"| {r['scenario']} | {r['app']} | {r['server']} | {r.get('round', 0)} | "
            f"{r['clients']} | "
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
