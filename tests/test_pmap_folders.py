"""Where results go: file names from the function, the default folder and its
base, and the run's log file, on real LocalClusters.

Helpers are in ``outputs_helpers.py``.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from pathlib import Path

import dask.config
import h5py
import pytest
from outputs_helpers import log_files, payload_paths, run, square

TIMESTAMP = r"ACME_\d{8}-\d{6}-\d{6}"


# --- functions run on the workers (module level: importable by worker processes) ------


def scale(x, factor=1):
    return x * factor


# --- names and folders ---------------------------------------------------------------


def test_lambda_name_is_sanitised(client, tmp_path):
    out = tmp_path / "out"
    paths, container = run(lambda x: x + 1, 2, out)
    assert container == str(out / "_lambda_.h5")
    assert paths == payload_paths(out, "_lambda_", 2)
    assert len(log_files(out, "_lambda_")) == 1
    with h5py.File(container, "r") as h5:
        assert h5["comp_1"]["result_0"][()].tolist() == [2]


def test_partial_uses_the_wrapped_name(client, tmp_path):
    out = tmp_path / "out"
    _, container = run(functools.partial(scale, factor=3), 2, out)
    assert container == str(out / "scale.h5")
    with h5py.File(container, "r") as h5:
        assert h5["comp_1"]["result_0"][()].tolist() == [3]


@pytest.fixture
def module_function(tmp_path, monkeypatch, request):
    """``twice`` from a module file in ``tmp_path / "src"``, imported via sys.path."""
    source = tmp_path / "src"
    source.mkdir()
    module = f"acme_outputs_{request.node.name.replace('[', '_').replace(']', '')}"
    (source / f"{module}.py").write_text("def twice(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(source))
    request.addfinalizer(lambda: sys.modules.pop(module, None))
    return importlib.import_module(module).twice, source


def single_timestamped_folder(base: Path) -> Path:
    folders = [p for p in base.iterdir() if re.fullmatch(TIMESTAMP, p.name)]
    assert len(folders) == 1, folders
    return folders[0]


def test_default_folder_beside_the_source_file(client, module_function):
    twice, source = module_function
    paths, container = run(twice, [1, 2, 3], None)
    folder = single_timestamped_folder(source)
    assert container == str(folder / "twice.h5")
    assert paths == payload_paths(folder, "twice", 3)
    with h5py.File(container, "r") as h5:
        assert [h5[f"comp_{i}"]["result_0"][()].tolist() for i in range(3)] == [
            [2],
            [4],
            [6],
        ]


def test_output_base_from_configuration(client, module_function, tmp_path, monkeypatch):
    twice, source = module_function
    base = tmp_path / "base"
    monkeypatch.setenv("DASK_ACME__OUTPUT_BASE", str(base))
    dask.config.refresh()
    try:
        _, container = run(twice, [1, 2], None)
    finally:
        monkeypatch.delenv("DASK_ACME__OUTPUT_BASE")
        dask.config.refresh()
    folder = single_timestamped_folder(base)
    assert container == str(folder / "twice.h5")
    assert not [p for p in source.iterdir() if p.name.startswith("ACME_")]


def _generated():
    namespace: dict = {"__name__": "generated_by_exec"}
    exec("def generated(x):\n    return -x\n", namespace)
    return namespace["generated"]


@pytest.mark.parametrize("func", [abs, _generated()], ids=["builtin", "exec"])
def test_default_folder_without_source_file_is_cwd(client, tmp_path, monkeypatch, func):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _, container = run(func, [-1, -2], None)
    folder = single_timestamped_folder(work)
    name = func.__name__
    assert container == str(folder / f"{name}.h5")
    with h5py.File(container, "r") as h5:
        assert h5["comp_1"]["result_0"][()].tolist() == [func(-2)]


def test_log_file_holds_the_run(client, tmp_path):
    out = tmp_path / "out"
    _, container = run(square, 3, out)
    (log,) = log_files(out, "square")
    text = log.read_text()
    assert "This is ACME v." in text
    assert "Preparing 3 parallel calls of `square` using 2 workers" in text
    assert "SUCCESS!" in text
    assert f"Results have been saved to {container}" in text
    assert "ACME - INFO - " in text
