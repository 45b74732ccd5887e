"""The examples in linkback's docstrings run and print what they show.

Every module whose source has a ``>>>`` is run through :func:`doctest.testmod`. An example that
cannot run here (it needs an index file) is written as a plain ``Example::`` block instead; one
that needs the network is marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io

import pytest
from conftest import ROOT


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted((ROOT / "linkback").rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_modules_with_examples_are_found() -> None:
    # A sanity check on the search above: these modules have had examples for a long time.
    assert {"linkback.urls", "linkback.protocols._sanitize", "linkback.quality._anchors"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    examples = sum(len(test.examples) for test in doctest.DocTestFinder().find(module))
    assert examples, (
        f"{name}: its source has '>>>' but doctest finds no example in its docstrings; "
        "put the example in a docstring doctest reads, or write it as a plain 'Example::' block"
    )
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        results = doctest.testmod(module, report=False)
    assert results.failed == 0, (
        f"{name}: {results.failed} of {results.attempted} docstring examples fail:\n{report.getvalue()}"
    )
