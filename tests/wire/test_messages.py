"""Messages between the frontend and nodes: what is encoded is decoded back the same."""

from __future__ import annotations

import json
import math

from suricate.wire.body import Body
from suricate.wire.messages import (
    ActionRecord,
    MetricTally,
    ProcessorReport,
    StreamMessage,
    decode,
)


def test_a_report_comes_back_whole_nan_surrogates_and_all() -> None:
    report = ProcessorReport(
        "p1",
        "node",
        0,
        processed=2,
        actions=[
            ActionRecord("prédit", {"n": 1, "big": 1e16}, 1.5, {"m": 3}),
            ActionRecord("lone \ud800", {}, None, {}),
        ],
        metrics=[MetricTally("loss", math.inf, 2, {})],
        samples=[StreamMessage("1", Body(text="héllo"), {"h": [1, 2]}, stream="s")],
    )
    encoded = report.encode()
    assert json.loads(encoded)["type"] == "processor_report"
    decoded = decode(encoded)
    assert isinstance(decoded, ProcessorReport)
    assert decoded.actions == report.actions
    assert decoded.samples == report.samples
    assert decoded.metrics[0].total == math.inf
    nan = decode(ProcessorReport("p1", "node", 0, rate=math.nan).encode())
    assert isinstance(nan, ProcessorReport) and math.isnan(nan.rate)
