"""The code in the docs and the README runs, so the docs cannot drift from the code."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks():
    for page in PAGES:
        for number, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
            yield pytest.param(match.group(1), id=f"{page.relative_to(ROOT)}#{number}")


@pytest.mark.parametrize("code", list(blocks()))
def test_code_block_runs(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})


def test_there_are_code_blocks():
    assert len(list(blocks())) >= 5
