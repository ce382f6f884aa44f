"""The side-by-side benchmark suite (issue #7): this project vs. a Channels
tutorial consumer vs. a bare ASGI app, under daphne and uvicorn, in one run.

    .venv/bin/python bench/suite.py            # full run, ~10 minutes
    .venv/bin/python bench/suite.py --smoke    # tiny sizes; checks it runs

Writes var/bench/results.json and var/bench/results.md (the table in
docs/performance.md). Ratios compare runs made minutes apart on the same
machine, so machine noise mostly cancels; absolute numbers do not transfer.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import report, targets  # noqa: E402
from bench.chat_load import run_chat  # noqa: E402

ROOT = targets.ROOT
SERVERS = ("daphne", "uvicorn")
# Run with `manage.py shell -c` in the bench database: rooms, a user, a session.
SETUP_SCRIPT = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from chat.services import room_create
user = get_user_model().objects.create_user("bench")
for n in range({rooms}):
    room_create(slug=f"room{{n}}", owner=user)
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.prefix = f"rtbench-{uuid.uuid4().hex[:8]}"
        self.database = ROOT / "var" / f"{self.prefix}.sqlite3"
        self.results: dict[str, Any] = {"machine": machine(), "runs": []}
        self.project_env = {
            "DJANGO_SETTINGS_MODULE": "realtime.settings",
            "DJANGO_SECRET_KEY": "bench-only",
            "DJANGO_DEBUG": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{self.database}",
            "REALTIME_REDIS_PREFIX": self.prefix,
            "REALTIME_MAX_CONNECTIONS_PER_IP": "1000000",
            "REALTIME_MAX_CONNECTIONS_PER_USER": "1000000",
            "REALTIME_IDLE_TIMEOUT": "3600",
            # One bench user holds every chat connection.
            "CHAT_RATE": "1000",
            "CHAT_BURST": "1000",
        }

    def env_for(self, app: str) -> dict[str, str]:
        if app == "project":
            return self.project_env
        settings = {"tutorial": "bench.tutorial.settings"}.get(app, "")
        return {
            "BENCH_PREFIX": f"{self.prefix}-{app}",
            "DJANGO_SETTINGS_MODULE": settings,
        }

    def prepare_project(self) -> str:
        """Migrate the bench database; return a logged-in session cookie."""
        env = {**os.environ, **self.project_env}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        script = SETUP_SCRIPT.format(rooms=self.args.rooms)
        out = subprocess.run(
            [*manage, "shell", "-c", script],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        os.environ.update(self.project_env)
        import django

        django.setup()
        return f"sessionid={out.stdout.strip().splitlines()[-1]}"

    async def load(
        self,
        running: targets.Running,
        topic: str,
        *,
        publish_rate: float | None,
        events: int,
        clients: int,
        latency: bool = False,
        cookie: str = "",
        token: bool = True,
        hold: float = 0.0,
        memory: bool = False,
    ) -> dict[str, Any]:
        """Start the generator, publish, and return its results (plus RSS)."""
        url = running.url(topic)
        if cookie and token and running.app == "project":
            # Logged-in browsers reconnect with their welcome's socket token.
            url += "?token=" + urllib.parse.quote(await socket_token(running, cookie))
        command = [
            sys.executable,
            str(ROOT / "bench" / "loadgen.py"),
            "--url",
            url,
            "--origin",
            running.origin,
            "--subscribe",
            running.subscribe_frame(topic),
            "--clients",
            str(clients),
            "--events",
            str(events),
        ]
        if latency:
            command.append("--latency")
        if cookie and running.app == "project":
            command += ["--cookie", cookie]
        if hold:
            command += ["--hold", "--idle", str(hold)]
        server = psutil.Process(running.process.pid)
        rss_before = server.memory_info().rss
        cpu_before = sum(server.cpu_times()[:2])
        connecting_since = time.monotonic()
        generator = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, cwd=ROOT
        )
        assert generator.stdout is not None
        line = await asyncio.wait_for(generator.stdout.readline(), 600)
        assert line.strip() == b"READY", line
        # Server CPU while clients connected: near 1.0 means the server was the
        # limit; well below means the generator or round trips were.
        result: dict[str, Any] = {
            "server_cpu_connecting": round(
                (sum(server.cpu_times()[:2]) - cpu_before)
                / (time.monotonic() - connecting_since),
                2,
            )
        }
        if memory:
            await asyncio.sleep(2.0)
            rss_after = server.memory_info().rss
            result["kb_per_connection"] = round(
                (rss_after - rss_before) / 1024 / clients, 1
            )
        publish = await targets.publisher(running.app, self.prefix, topic)
        for i in range(events):
            await publish(i)
            if publish_rate:
                await asyncio.sleep(1 / publish_rate)
        output = await asyncio.wait_for(generator.stdout.read(), 600)
        await generator.wait()
        result.update(json.loads(output.decode().strip().splitlines()[-1]))
        return result

    async def scenario(
        self, name: str, app: str, server: str, round_number: int = 0, **load: Any
    ) -> None:
        if not self.wanted(name, app):
            return
        running = targets.start(app, server, free_port(), self.env_for(app))
        try:
            await self.warm_up(running)
            result = await self.load(running, "broadcast", **load)
        finally:
            running.stop()
        row = {
            "scenario": name,
            "app": app,
            "server": server,
            "round": round_number,
            **result,
        }
        print(json.dumps(row), flush=True)
        self.results["runs"].append(row)

    def wanted(self, name: str, app: str) -> bool:
        only = self.args.only
        return not only or name in only or f"{name}:{app}" in only

    async def warm_up(self, running: targets.Running) -> None:
        """One short connection first, so imports and pools are not measured."""
        await self.load(running, "broadcast", publish_rate=None, events=1, clients=5)

    async def comparisons(self, server: str, round_number: int) -> None:
        """One round of the scenarios whose ratios have goals, on one server."""
        a = self.args
        for app in ("project", "tutorial", "bare"):
            await self.scenario(
                "fanout",
                app,
                server,
                round_number,
                publish_rate=None,
                events=a.events,
                clients=a.subscribers,
            )
        for app in ("project", "bare"):
            await self.scenario(
                "latency",
                app,
                server,
                round_number,
                publish_rate=10.0,
                events=a.latency_events,
                clients=a.subscribers,
                latency=True,
            )
            await self.scenario(
                "idle_memory",
                app,
                server,
                round_number,
                publish_rate=None,
                events=0,
                clients=a.idle_clients,
                cookie=self.cookie,
                hold=4.0,
                memory=True,
            )

    async def run(self) -> dict[str, Any]:
        a = self.args
        cookie = self.prepare_project()
        self.cookie = cookie
        try:
            for server in a.servers:
                # Rounds alternate the apps, so a slow spell of this shared
                # machine hits every app of a round; the report takes the
                # median of the rounds' ratios.
                for round_number in range(a.rounds):
                    await self.comparisons(server, round_number)
                # A logged-in browser's first connect: no token yet, so the
                # session and user are read from the database.
                await self.scenario(
                    "first_connect",
                    "project",
                    server,
                    publish_rate=None,
                    events=0,
                    clients=a.idle_clients,
                    cookie=cookie,
                    token=False,
                    hold=1.0,
                )
            await self.scenario(
                "max_connections",
                "project",
                a.production_server,
                publish_rate=None,
                events=1,
                clients=a.max_connections,
            )
            if not self.wanted("chat", "project"):
                return self.results
            running = targets.start(
                "project", a.production_server, free_port(), self.project_env
            )
            try:
                chat = await run_chat(running, cookie, a.rooms, a.users, a.seconds)
            finally:
                running.stop()
            row = {
                "scenario": "chat",
                "app": "project",
                "server": a.production_server,
                **chat,
            }
            print(json.dumps(row), flush=True)
            self.results["runs"].append(row)
        finally:
            self.cleanup()
        return self.results

    def cleanup(self) -> None:
        import redis

        client = redis.Redis.from_url(
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        )
        for key in client.scan_iter(match=f"{self.prefix}*"):
            client.delete(key)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)


async def socket_token(running: targets.Running, cookie: str) -> str:
    """The token of a welcome frame, got the way a browser gets it."""
    headers = {"Cookie": cookie}
    async with websockets.connect(
        running.url("broadcast"), origin=running.origin, additional_headers=headers
    ) as ws:
        welcome = json.loads(await ws.recv())
    assert welcome["user"]["guest"] is False, welcome
    return str(welcome["token"])


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--production-server", default="uvicorn", choices=SERVERS)
    parser.add_argument(
        "--servers",
        type=lambda text: text.split(","),
        default=list(SERVERS),
        help="servers of the compared scenarios, e.g. uvicorn (default: both)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=set(),
        help="scenarios to run, e.g. fanout,latency or fanout:project",
    )
    parser.add_argument("--chat-rooms", type=int, help="rooms in the chat run")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of the compared scenarios (default 3; 1 with --smoke)",
    )
    parser.add_argument("--out", default=str(ROOT / "var" / "bench"))
    args = parser.parse_args()
    sizes = dict(
        subscribers=1000,
        events=200,
        latency_events=100,
        idle_clients=5000,
        max_connections=10000,
        rooms=100,
        users=10,
        seconds=20.0,
    )
    if args.smoke:
        sizes = dict(
            subscribers=10,
            events=5,
            latency_events=3,
            idle_clients=10,
            max_connections=20,
            rooms=2,
            users=3,
            seconds=2.0,
        )
    for key, value in sizes.items():
        setattr(args, key, value)
    if args.chat_rooms:
        args.rooms = args.chat_rooms
    if args.rounds is None:
        args.rounds = 1 if args.smoke else 3
    results = asyncio.run(Suite(args).run())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(report.markdown(results))
    print((out / "results.md").read_text())


if __name__ == "__main__":
    main()
