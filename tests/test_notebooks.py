"""Execute every notebook top to bottom (CI runs them on the real data root)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    # allow_errors: every cell runs and every error is reported here, rather than the first one raising out of execute().
    client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.parent)}})  # fmt: skip
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(code) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert errors == []
    assert all(c.get("execution_count") for c in code), "a code cell did not run"
    assert sum(len(c.get("outputs", [])) for c in code) >= len(code) // 2, "the notebook shows almost nothing"
