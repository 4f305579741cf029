"""The one output-merging rule, held to the fixtures the web UI's merge is tested on too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suricate.wire.outputs import CellOutputs, merged, pager_outputs

CASES = sorted((Path(__file__).parents[1] / "files" / "outputs").glob("*.json"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_merging_output_messages_leaves_what_jupyter_shows(case: Path) -> None:
    fixture = json.loads(case.read_text())
    assert merged(fixture["events"]) == fixture["outputs"], fixture["description"]


def test_there_are_fixtures_for_each_part_of_the_rule() -> None:
    names = {c.stem for c in CASES}
    assert {"stream_merge", "clear_output", "clear_output_wait", "display_update"} <= names


def test_merging_starts_from_outputs_already_there() -> None:
    cell = CellOutputs([{"output_type": "stream", "name": "stdout", "text": "a"}])
    cell.add({"output_type": "stream", "name": "stdout", "text": ["b", "c"]})
    assert cell.outputs == [{"output_type": "stream", "name": "stdout", "text": "abc"}]


def test_what_a_reply_pages_becomes_an_output_and_nothing_else_does() -> None:
    page = {"source": "page", "data": {"text/plain": "Docstring: ...", "text/html": 3}, "start": 0}
    reply = {
        "payload": [page, {"source": "set_next_input", "text": "x"}, "junk", {"source": "page"}]
    }
    assert pager_outputs(reply) == [
        {"output_type": "display_data", "data": {"text/plain": "Docstring: ..."}, "metadata": {}}
    ]
    assert pager_outputs({}) == pager_outputs({"payload": None}) == []
