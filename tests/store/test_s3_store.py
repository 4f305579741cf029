"""The S3 object store, against an S3-compatible server run locally: moto in server mode.

moto is a fake of AWS (the one mock this suite allows, since S3 itself cannot run here); it is
used over real HTTP on a local port, the way Suricate talks to AWS S3 or MinIO.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from suricate.server.app import create_app
from suricate.server.platform import Platform
from suricate.settings import Settings
from suricate.store.blobs import S3ObjectStore
from tests.support import PASSWORD
from tests.support.servers import free_port

CSV = b"team,down,yards\nDEN,1,12\nBAL,3,-2\n"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_platform(tmp_path: Path, s3_endpoint: str) -> Iterator[Platform]:
    import s3fs

    bucket = f"suricate-{tmp_path.name.lower().replace('_', '-')[:40]}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint}).mkdir(bucket)
    settings = Settings(
        data_dir=tmp_path / "data",
        object_store_url=f"s3://{bucket}/objects",
        s3_endpoint_url=s3_endpoint,
    )
    platform = Platform.from_settings(settings)
    platform.start()
    yield platform
    platform.close()


@pytest.fixture
def client(s3_platform: Platform) -> Iterator[TestClient]:
    s3_platform.tenants.create_user("alice", PASSWORD, "acme")
    token, _ = s3_platform.tokens.create("alice", "test")
    with TestClient(create_app(platform=s3_platform), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def bucket_keys(platform: Platform) -> list[str]:
    store = platform.store
    assert isinstance(store, S3ObjectStore)
    return [p for p in store.fs.find(store.prefix)]


def test_uploads_land_in_the_bucket_and_download_exactly(
    client: TestClient, s3_platform: Platform
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    r = client.put("/api/v1/objects/blob.bin", content=data)
    assert r.status_code == 201, r.text
    keys = bucket_keys(s3_platform)
    assert len(keys) == 1 and keys[0].endswith(r.json()["sha256"])
    assert client.get("/api/v1/objects/blob.bin/content").content == data
    # Nothing is left staged on local disk once the bucket has it.
    assert not any((s3_platform.settings.objects_dir / "staging").iterdir())


def test_previews_read_csv_and_seek_in_parquet(client: TestClient) -> None:
    client.put("/api/v1/objects/plays.csv", content=CSV).raise_for_status()
    preview = client.get("/api/v1/objects/plays.csv/preview").json()
    assert preview["columns"] == ["team", "down", "yards"]
    assert preview["rows"][0] == ["DEN", 1, 12]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"team": ["DEN", "BAL"], "yards": [12, -2]}), buffer)
    client.put("/api/v1/objects/plays.parquet", content=buffer.getvalue()).raise_for_status()
    preview = client.get("/api/v1/objects/plays.parquet/preview").json()
    assert preview["format"] == "parquet" and preview["rows"] == [["DEN", 12], ["BAL", -2]]


def test_checksum_mismatch_and_delete_leave_nothing_in_the_bucket(
    client: TestClient, s3_platform: Platform
) -> None:
    bad = client.put("/api/v1/objects/x.csv", content=CSV, headers={"X-Content-SHA256": "0" * 64})
    assert bad.status_code == 422
    assert bucket_keys(s3_platform) == []
    client.put("/api/v1/objects/x.csv", content=CSV).raise_for_status()
    client.put("/api/v1/objects/x.csv", content=CSV + b"DEN,2,7\n").raise_for_status()
    assert len(bucket_keys(s3_platform)) == 2
    assert client.delete("/api/v1/objects/x.csv").status_code == 204
    assert bucket_keys(s3_platform) == []


def test_a_missing_bucket_or_bad_url_is_a_clear_error(tmp_path: Path, s3_endpoint: str) -> None:
    with pytest.raises(ValueError, match="unsupported object store URL"):
        Platform.from_settings(Settings(data_dir=tmp_path, object_store_url="gs://x/y"))
    platform = Platform.from_settings(
        Settings(
            data_dir=tmp_path, object_store_url="s3://no-such-bucket/p", s3_endpoint_url=s3_endpoint
        )
    )
    platform.start()
    try:
        platform.tenants.create_user("alice", PASSWORD, "acme")
        token, _ = platform.tokens.create("alice", "test")
        with TestClient(create_app(platform=platform), raise_server_exceptions=False) as c:
            r = c.put(
                "/api/v1/objects/a.csv", content=CSV, headers={"Authorization": f"Bearer {token}"}
            )
        assert r.status_code == 503
        assert "no-such-bucket" in r.json()["error"]["message"]
    finally:
        platform.close()
