"""The README's quick start, run as a newcomer pastes it into a shell: it ends with the live
feed printing actions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import clean_env, free_port, serve

README = Path(__file__).parents[2] / "README.md"


def quick_start_blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Quick start with curl") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


@pytest.mark.slow
def test_the_quick_start_ends_with_the_feed_printing_actions(tmp_path: Path) -> None:
    blocks = quick_start_blocks()
    assert len(blocks) >= 4, blocks
    env = clean_env(tmp_path / "data") | {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    process, url = serve(env, free_port(), tmp_path / "server.log")
    try:
        script = "\n".join(blocks[:4])
        feed = next(line for line in script.splitlines() if "actions/feed" in line)
        # The feed never ends: read it until its first action, as a user watching it would.
        script = script.replace(
            feed, feed.split("#")[0] + " --max-time 30 | grep -m1 -A1 '^event: action'"
        )
        assert "export SURICATE_URL=" in script
        script = re.sub(r"export SURICATE_URL=\S+", f"export SURICATE_URL={url}", script)
        script = script.replace('export PATH="$PWD/.venv/bin:$PATH"', "")
        done = subprocess.run(
            ["bash", "-eu", "-c", script],  # no pipefail: the feed ends when grep has its line
            cwd=tmp_path,
            env=env | {"PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "event: action" in done.stdout, done.stdout
        assert re.search(r"data: .*row \{", done.stdout), done.stdout
        assert '"count"' in done.stdout or "mean" in done.stdout  # df.describe() came back
    finally:
        process.terminate()
        process.wait(timeout=30)
