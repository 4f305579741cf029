"""Replay backtests: a processing notebook run as a job over a stored object.

The run executes the notebook's cells, with the model versions it was asked to pin, then one
more cell (added to the run's notebook, so its figures are saved with it) hands the object's
records to the handlers at full speed (see ``suricate.kernel.backtest``). Its actions go to the
run's own feed: ``GET /api/v1/actions?run=ID&feed=backtest`` (and ``feed=shadow`` for a
challenger's).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from suricate.errors import InvalidInput

BACKTEST_TAG = "suricate-backtest"


@dataclass(frozen=True)
class Backtest:
    """What to replay (``object``, its ``version`` or the latest), the model versions to pin
    (``models``: name -> version, taking the place of any alias the notebook loads), and a
    challenger to run in shadow (``shadow``: {"model", "version"})."""

    object: str
    version: int | None = None
    models: dict[str, int] = field(default_factory=dict)
    shadow: dict[str, Any] | None = None
    batch_size: int = 500

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise InvalidInput("batch_size is between 1 and 10,000")
        if self.shadow is not None and (
            not isinstance(self.shadow.get("model"), str)
            or not isinstance(self.shadow.get("version"), int)
        ):
            raise InvalidInput('shadow is {"model": name, "version": number}')

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def loads(stored: str | None) -> Backtest | None:
        return Backtest(**json.loads(stored)) if stored else None

    def pins(self) -> str:
        """Code that pins the model versions before the notebook's cells run."""
        return (
            "from suricate.kernel.models import registry as _suricate_models\n"
            f"_suricate_models.pins.update({json.dumps(self.models)})\n"
            "del _suricate_models"
        )

    def cell(self, run_id: str) -> dict[str, Any]:
        """The code cell that replays the object, as the run's notebook keeps it."""
        args = [repr(run_id), repr(self.object)]
        args.append(f"version={self.version!r}")
        if self.shadow is not None:
            args.append(f"shadow={self.shadow!r}")
        args.append(f"batch_size={self.batch_size}")
        source = (
            "# Replay backtest (added by Suricate): every record of the object, at full speed\n"
            "from suricate.kernel.backtest import replay\n"
            f"replay({', '.join(args)})"
        )
        return {
            "cell_type": "code",
            "id": "suricate-backtest",
            "metadata": {"tags": [BACKTEST_TAG]},
            "source": source,
            "outputs": [],
            "execution_count": None,
        }
