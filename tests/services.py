"""Private service processes for tests: a redis-server and nginx on spare ports."""

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis

from tests.conftest import ROOT, free_port

NGINX_SITE = ROOT / "deploy" / "nginx" / "realtime.conf"


class PrivateRedis:
    """A throwaway redis-server on a spare port, killed (not shut down) on stop.

    With `sentinel_of`, a Redis Sentinel watching that server as master "rtmaster".
    """

    def __init__(self, tmp_path, *, sentinel_of: "PrivateRedis | None" = None) -> None:  # type: ignore[no-untyped-def]
        self.port = free_port()
        self.dir = tmp_path
        self.sentinel_of = sentinel_of
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (apt-get install redis-server)"
        args = [binary]
        if self.sentinel_of is not None:
            # Sentinel rewrites its config file, so each gets its own.
            conf = self.dir / f"sentinel-{self.port}.conf"
            conf.write_text(
                f"sentinel monitor rtmaster 127.0.0.1 {self.sentinel_of.port} 1\n"
            )
            args += [str(conf), "--sentinel"]
        args += [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
        ]
        if self.sentinel_of is None:
            args += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


def render_nginx_site(upstreams: list[int], listen: int) -> str:
    """The shipped nginx site with its upstream servers and listen port replaced."""
    site = NGINX_SITE.read_text()
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n"
        for port in upstreams
    )
    site, replaced = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
    assert replaced == 1, "deploy/nginx/realtime.conf: upstream servers not found"
    site, replaced = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen};", site)
    assert replaced == 1, "deploy/nginx/realtime.conf: listen line not found"
    return site.replace("/var/log/nginx/access.log", "logs/access.log")


class PrivateNginx:
    """nginx (Debian's package) serving the shipped site in front of upstreams."""

    def __init__(self, tmp_path: Path, upstreams: list[int]) -> None:
        self.port = free_port()
        self.dir = tmp_path / "nginx"
        (self.dir / "logs").mkdir(parents=True)
        (self.dir / "realtime.conf").write_text(render_nginx_site(upstreams, self.port))
        (self.dir / "nginx.conf").write_text(
            f"""daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    include {self.dir}/realtime.conf;
}}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def start(self) -> "PrivateNginx":
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        assert Path(binary).exists(), "nginx is needed (bin/test installs it)"
        conf = str(self.dir / "nginx.conf")
        check = subprocess.run(
            [binary, "-t", "-c", conf, "-p", str(self.dir)], capture_output=True
        )
        assert check.returncode == 0, check.stderr.decode()
        self.process = subprocess.Popen(
            [binary, "-c", conf, "-p", str(self.dir)], stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(self.http + "/healthz", timeout=2):  # noqa: S310 - loopback
                    return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
