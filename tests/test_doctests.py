"""The examples in acme's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import acme

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(acme.__path__, prefix="acme.")
    if not info.name.endswith("_plugin")
)
# modules whose docstrings carry runnable examples (cluster examples are +SKIP)
WITH_EXAMPLES = {
    "acme._checks",
    "acme._sizes",
    "acme.broadcast",
    "acme.cluster._options",
    "acme.cluster._slurm_info",
    "acme.config",
    "acme.results.layout",
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted > 0
