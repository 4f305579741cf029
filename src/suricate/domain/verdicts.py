"""How a run goes as papermill runs it: the parameters it injects, and whether it succeeded.

- A cell tagged ``skip-execution`` is not run (nbclient's ``skip_cells_with_tag``).
- A cell's error stops the run, unless the cell is tagged ``raises-exception``: then the next
  cells run (nbclient). The verdict is papermill's, taken over the whole executed notebook: any
  error output fails the run, a tagged cell's too, and the error reported is the last one.
- ``sys.exit()``, ``sys.exit(0)`` and ``raise SystemExit`` stop the run *successfully*: the cells
  after it do not run, and its ``SystemExit`` output is kept but is not a failure.
- A notebook whose kernel is not a Python one (an R notebook) is refused before anything runs:
  it is never run by the Python kernel, where a line could happen to be valid Python.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

SKIP_TAG = "skip-execution"
RAISES_TAG = "raises-exception"


def _tags(cell: dict[str, Any]) -> list[Any]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def skipped(cell: dict[str, Any]) -> bool:
    """Tell whether a code cell is left unrun (tagged ``skip-execution``)."""
    return SKIP_TAG in _tags(cell)


def may_raise(cell: dict[str, Any]) -> bool:
    """Tell whether a cell's error lets the next cells run (tagged ``raises-exception``)."""
    return RAISES_TAG in _tags(cell)


def clean_exit(ename: str | None, evalue: str | None) -> bool:
    """Tell whether an error is a successful ``sys.exit()``: SystemExit with no code or 0."""
    return ename == "SystemExit" and (evalue or "") in ("", "0")


def failure(nb: dict[str, Any]) -> dict[str, Any] | None:
    """Return the error that fails an executed notebook (the last error output), or None."""
    found = None
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") != "error":
                continue
            ename, evalue = output.get("ename"), output.get("evalue")
            if clean_exit(ename, evalue):
                continue
            found = {"ename": ename, "evalue": evalue, "cell": index}
            break
    return found


def kernel_problem(nb: dict[str, Any]) -> str | None:
    """Explain why a notebook cannot run on Suricate's Python kernel, or return None."""
    metadata = nb.get("metadata", {})
    spec = metadata.get("kernelspec")
    spec = spec if isinstance(spec, dict) else {}
    info = metadata.get("language_info")
    info = info if isinstance(info, dict) else {}
    language = spec.get("language") or info.get("name")
    name = spec.get("name")
    if isinstance(language, str) and language:
        if language.strip().lower() == "python":
            return None
    elif not isinstance(name, str) or not name or name.lower().startswith("python"):
        return None
    what = f"kernel {name!r}" if name else "kernel"
    if isinstance(language, str) and language:
        what += f" (language {language})"
    return (
        f"no such kernel: the notebook asks for the {what}, and Suricate runs Python notebooks "
        "only (kernel python3); change the notebook's kernelspec to run it in Python"
    )


def inject_parameters(nb: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``nb`` with the parameters cell papermill would inject."""
    nb = copy.deepcopy(nb)
    if not parameters:
        return nb
    lines = ["# Parameters"] + [f"{name} = {value!r}" for name, value in parameters.items()]
    cell: dict[str, Any] = {
        "cell_type": "code",
        "id": uuid.uuid4().hex[:8],
        "metadata": {"tags": ["injected-parameters"]},
        "execution_count": None,
        "source": "\n".join(lines) + "\n",
        "outputs": [],
    }
    if nb.get("nbformat_minor", 0) < 5:
        del cell["id"]
    cells = nb["cells"]
    at = next(
        (
            i + 1
            for i, c in enumerate(cells)
            if "parameters" in c.get("metadata", {}).get("tags", [])
        ),
        0,
    )
    cells.insert(at, cell)
    return nb


def source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
