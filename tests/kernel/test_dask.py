"""sdk.dask(): a Dask client for the tenant, local inside the kernel or on a given scheduler."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from suricate.demo import football
from suricate.settings import Settings
from tests.domain.test_sessions import run, start

GROUPBY = """
import dask.dataframe as dd
import pandas as pd
from suricate import sdk

client = sdk.dask()
df = pd.DataFrame({"team": list("ABCABCAAB") * 50, "yards": range(450)})
by_pandas = df.groupby("team").yards.agg(["count", "sum", "mean"])
by_dask = dd.from_pandas(df, npartitions=6).groupby("team").yards.agg(["count", "sum", "mean"])
by_dask = by_dask.compute().sort_index()
pd.testing.assert_frame_equal(by_pandas, by_dask, check_dtype=False, check_index_type=False)
print(client.scheduler.address, sdk.dask() is client, by_pandas["sum"].to_dict())
"""


pytestmark = pytest.mark.sqlite_only(
    "nothing here touches the database beyond what every other test covers"
)


def printed(result: dict) -> str:
    return "".join(o["text"] for o in result["outputs"] if o.get("name") == "stdout")


def test_local_cluster_inside_the_kernel_matches_pandas(alice: TestClient) -> None:
    result = run(alice, start(alice), GROUPBY)
    assert result["status"] == "ok", result
    address, same, sums = printed(result).split(" ", 2)
    # Workers are threads of the kernel (inproc://): within its limits, no network needed.
    assert address.startswith("inproc://") and same == "True"
    df = pd.DataFrame({"team": list("ABCABCAAB") * 50, "yards": range(450)})
    assert sums.strip() == str(df.groupby("team").yards.sum().to_dict())


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, processes=False, dashboard_address=None, protocol="tcp://", host="127.0.0.1"
    ) as cluster:
        yield cluster.scheduler_address


class TestOnAScheduler:
    """With SURICATE_DASK_SCHEDULER set, kernels use that cluster (here one in the test)."""

    @pytest.fixture
    def settings(self, make_settings: Callable[..., Settings], scheduler: str) -> Settings:
        # The kernel must reach the scheduler: host network.
        return make_settings(dask_scheduler=scheduler, kernel_network="host")

    def test_kernel_client_uses_the_scheduler(self, alice: TestClient, scheduler: str) -> None:
        result = run(alice, start(alice), GROUPBY)
        assert result["status"] == "ok", result
        address = printed(result).split(" ", 1)[0]
        assert address == scheduler


def test_the_football_dask_notebook_agrees_with_pandas(alice: TestClient) -> None:
    plays = pd.DataFrame(
        {
            "posteam": ["DEN", "DEN", "BAL", "BAL", "DEN", "BAL"] * 20,
            "play_type": ["pass", "run", "pass", "pass", "punt", "run"] * 20,
            "yards": [12, 3, -2, 25, 40, 1] * 20,
        }
    )
    buffer = plays.to_parquet()
    alice.put("/api/v1/objects/nfl-plays.parquet", content=buffer).raise_for_status()
    path = Path(football.__file__).parent / "07-dask-yards.ipynb"
    created = alice.post(
        "/api/v1/notebooks/import", params={"name": "07-dask-yards"}, content=path.read_bytes()
    )
    assert created.status_code == 201, created.text
    s = alice.post("/api/v1/sessions", json={"notebook_id": created.json()["id"]}).json()["id"]
    notebook = json.loads(path.read_text())
    outputs = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            result = run(alice, s, "".join(cell["source"]))
            assert result["status"] == "ok", result
            outputs += result["outputs"]
    printed = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    assert "agrees with pandas on 4 (team, play type) groups" in printed
