"""Write expected.json: what the papermill CLI makes of each notebook here (run by hand, once).

    /work/main/.venv/bin/python tests/files/papermill/golden.py

A notebook without a kernelspec is run with ``--kernel python3``, the default kernel Suricate's
import fills in. Per notebook: the verdict (the CLI's exit status), and per cell whether it ran, its stream outputs
(merged as nbclient merges them) and the name of the error it showed. Papermill's own error-marker
cells are left out, so cell indexes are the notebook's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).parent
MARKER = "papermill-error-cell-tag"
SITE = re.compile(r"\S*/site-packages/")


def portable(text: str) -> str:
    """Return a stream's text without this machine's paths (IPython's warnings name files)."""
    return SITE.sub("<site-packages>/", text)


def summary(nb: nbformat.NotebookNode) -> list[dict]:
    cells = []
    for cell in nb.cells:
        if MARKER in cell.metadata.get("tags", []):
            continue
        if cell.cell_type != "code":
            cells.append({"ran": False, "streams": [], "error": None})
            continue
        streams = [
            {"name": o.name, "text": portable(o.text)} for o in cell.outputs if o.output_type == "stream"
        ]
        errors = [o.ename for o in cell.outputs if o.output_type == "error"]
        cells.append(
            {
                "ran": cell.execution_count is not None,
                "streams": streams,
                "error": errors[0] if errors else None,
            }
        )
    return cells


def main() -> None:
    expected = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(HERE.glob("*.ipynb")):
            out = Path(tmp) / path.name
            command = [sys.executable, "-m", "papermill", "--no-progress-bar", str(path), str(out)]
            if "kernelspec" not in nbformat.read(path, as_version=4).metadata:
                # Suricate's default kernel, the one its import fills in: papermill needs it said.
                command += ["--kernel", "python3"]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=tmp,
                timeout=120,
            )
            last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
            entry: dict = {"verdict": "succeeded" if done.returncode == 0 else "failed"}
            if out.exists():
                entry["cells"] = summary(nbformat.read(out, as_version=4))
            else:
                entry["cells"] = None  # papermill refused before running anything
            entry["papermill_says"] = last
            expected[path.stem] = entry
            print(path.stem, entry["verdict"], last, file=sys.stderr)
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
