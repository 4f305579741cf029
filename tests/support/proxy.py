"""Debian's nginx in front of frontend replicas, with the shipped config (deploy/nginx), on a
loopback port of the test's own."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import ROOT
from tests.support.services import require
from tests.support.wait import wait_until

SHIPPED = ROOT / "deploy" / "nginx" / "suricate.conf"


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


def nginx_config(work: Path, port: int, upstreams: list[str]) -> Path:
    """The shipped config, listening on ``port`` of loopback, with ``upstreams`` (host:port)."""
    conf = SHIPPED.read_text()
    servers = "".join(f"    server {u} max_fails=1 fail_timeout=2s;\n" for u in upstreams)
    conf = re.sub(r"(?m)^\s*#?\s*server \S+:\d+ max_fails=\d+ fail_timeout=\d+s;\n", "", conf)
    conf = conf.replace(
        "upstream suricate_frontends {\n", "upstream suricate_frontends {\n" + servers
    )
    conf = conf.replace("listen 8888;", f"listen 127.0.0.1:{port};").replace(
        "listen [::]:8888;\n", ""
    )
    (work / "suricate.conf").write_text(conf)
    main = work / "nginx.conf"
    # Run as root (this machine's tests), nginx's workers would drop to nobody, who cannot
    # enter the test's directories.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}pid {work}/nginx.pid;\nerror_log {work}/error.log warn;\nworker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {work}/body;\n"
        f"  proxy_temp_path {work}/proxy;\n  include {work}/suricate.conf;\n}}\n"
    )
    return main


@contextmanager
def nginx(work: Path, port: int, upstreams: list[str]) -> Iterator[str]:
    """Run nginx (in the foreground, as a child of the test) in front of ``upstreams``."""
    binary = nginx_binary()
    require(binary is not None, "nginx is not installed (scripts/system-packages.sh)")
    assert binary is not None
    work.mkdir(parents=True, exist_ok=True)
    main = nginx_config(work, port, upstreams)
    process = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            httpx.get(f"{url}/api/v1/health", timeout=2)
            return True
        except httpx.TransportError:
            return process.poll() is not None  # it died: stop waiting, say why below

    try:
        wait_until(up, timeout=20, interval=0.05, message="nginx did not start")
        assert process.poll() is None, (work / "error.log").read_text()
        yield url
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
