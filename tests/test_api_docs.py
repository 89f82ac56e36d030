"""Every public name has an entry on an API page of the docs (mkdocstrings renders only the
members it is given, so a name missing there is missing from the docs)."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import salesmetrics
import salesmetrics.plot

API = Path(__file__).resolve().parents[1] / "docs" / "api"


def _documented() -> set[str]:
    text = "\n".join(page.read_text(encoding="utf-8") for page in API.glob("*.md"))
    names = set(re.findall(r"^\s*-\s+([A-Za-z_][A-Za-z0-9_]*)\s*$", text, flags=re.MULTILINE))
    names |= set(re.findall(r"^:::\s+salesmetrics(?:\.[A-Za-z_0-9]+)*\.([A-Za-z_0-9]+)\s*$", text,
                            flags=re.MULTILINE))
    return names


@pytest.mark.skipif(not API.is_dir(), reason="docs/api not present")
@pytest.mark.parametrize("module", [salesmetrics, salesmetrics.plot], ids=lambda m: m.__name__)
def test_every_public_name_is_on_an_api_page(module: types.ModuleType) -> None:
    documented = _documented()
    public = set(module.__all__)
    missing = sorted(name for name in public if name not in documented and not name.startswith("__")
                     and not isinstance(getattr(module, name, None), type(salesmetrics)))
    assert missing == []
