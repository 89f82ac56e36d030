"""The code in the docs and the README runs, so the docs cannot drift from the code.

Each page's ``python`` blocks run in order in one namespace, from the project's root. A page with
a block marked ``# needs: ../shared/data`` is skipped where that folder is absent (a user's clone).
A `DataQualityWarning` is part of what a page shows its reader (the bundled sample has open deals
without an amount), so it is allowed there; any other warning fails the page.
"""

import pathlib
import re
import warnings

import pytest

from salesmetrics.errors import DataQualityWarning

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
NEEDS_SHARED = "# needs: ../shared/data"


def blocks(page: pathlib.Path) -> list[str]:
    return [m.group(1) for m in BLOCK.finditer(page.read_text(encoding="utf-8"))]


PAGES_WITH_CODE = [page for page in PAGES if blocks(page)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs(page, monkeypatch):
    code = blocks(page)
    if any(NEEDS_SHARED in block for block in code) and not (ROOT.parent / "shared").is_dir():
        pytest.skip("needs ../shared/data")
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        for number, block in enumerate(code):
            exec(compile(block, f"{page.name}#{number}", "exec"), namespace)


def test_the_guides_have_code():
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"notebook.md", "backend.md", "definitions.md", "quickstart.md", "README.md"} <= names
