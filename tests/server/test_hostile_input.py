"""The attacks of issue 14 against a real `suricate serve`: it answers 4xx and stays up, its
resident memory within 64 MiB of where it was, whatever the bomb is called."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest

from tests.domain.test_previews import zeros_gzip
from tests.support import PASSWORD
from tests.support.servers import clean_env, free_port, serve, suricate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
MIB = 1024**2


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return psutil.Process(pid).memory_info().rss


def test_the_attacks_of_issue_14_meet_4xx_and_the_server_stays_small(tmp_path: Path) -> None:
    # No outbound allow-list here: loopback is refused, as in production.
    env = clean_env(tmp_path / "data") | {
        "SURICATE_PASSWORD": PASSWORD,
        "SURICATE_KERNEL_POOL_SIZE": "0",
        "SURICATE_OUTBOUND_ALLOWED_HOSTS": "",
    }
    suricate(env, "user", "create", "alice", "--tenant", "acme")
    token = suricate(env, "token", "create", "alice")
    process, url = serve(env, free_port(), tmp_path / "server.log", timeout=90)
    api = httpx.Client(
        base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )
    try:
        # Warm up what previews load (pandas, pyarrow), so the bombs are measured alone.
        api.put("/objects/warm.csv", content=b"a,b\n1,2\n")
        api.put("/objects/warm.parquet", content=_parquet())
        assert api.get("/objects/warm.csv/preview").status_code == 200
        assert api.get("/objects/warm.parquet/preview").status_code == 200
        before = _peak_rss(process.pid)

        bomb = zeros_gzip(1024**3)  # 1 GiB of zeros, ~1 MB packed
        for name in ("bomb.csv.gz", "bomb.csv", "bomb.json", "bomb.jsonl", "bomb.parquet"):
            assert api.put(f"/objects/{name}", content=bomb).status_code == 201
            r = api.get(f"/objects/{name}/preview")
            assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:200])
            assert r.json()["error"]["code"] == "malformed_data"
        grown = _peak_rss(process.pid) - before
        print(f"peak resident memory grew by {grown / MIB:.1f} MiB over five 1 GiB bombs")
        assert grown < 64 * MIB

        # A 2 MB JSON action.
        big = api.post("/actions", json={"text": "x", "data": {"blob": "x" * 2_000_000}})
        assert big.status_code == 413
        # Names are whole strings; integers stay in range.
        assert api.put("/objects/abc%0A", content=b"x").status_code == 422
        assert api.get("/objects/warm.csv/content?version=9223372036854775808").status_code == 422
        assert api.get("/objects/warm.csv/preview?version=9223372036854775808").status_code == 422
        notebook = api.post("/notebooks", json={"name": "nb"}).json()["id"]
        assert api.get(f"/notebooks/{notebook}?revision=99999999999999999999").status_code == 422
        # Webhooks and streams to loopback.
        hook = {"webhook_url": "http://127.0.0.1:18999/internal-admin"}
        assert api.post(f"/notebooks/{notebook}/runs", json=hook).status_code == 422
        stream = {"name": "s", "type": "amqp", "uri": "amqp://127.0.0.1:5672/", "queue": "q"}
        assert api.post("/streams", json=stream).status_code == 422
        # /metrics without a token names no tenant.
        assert "acme" not in httpx.get(f"{url}/metrics").text
        # 50 wrong passwords meet 429 before the 50th.
        statuses = [
            httpx.post(
                f"{url}/api/v1/auth/login", json={"user": "alice", "password": "wrong"}
            ).status_code
            for _ in range(50)
        ]
        assert 429 in statuses[:49]

        assert httpx.get(f"{url}/api/v1/health").status_code == 200
        assert process.poll() is None
    finally:
        api.close()
        process.terminate()
        process.wait(timeout=30)


def _parquet() -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2]}), buf)
    return buf.getvalue()
