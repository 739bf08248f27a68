"""``ParallelMap``'s output keywords: accepted forms and normalised values.

Values are read from ``pmap.config`` where a constructed map exposes
them (in-memory results, attached to the ``client`` fixture), else from
``_settings.from_public``. Warnings for ignored options are checked on "ACME".
Client options, verbosity and the dry run: ``test_settings_client.py``; rejected
values: ``test_settings_errors.py`` and ``test_settings_order.py``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import dask.config
import numpy as np
import pytest
from settings_cases import f, settings

from acme import ParallelMap

WARN_SINGLE = (
    "Generating a single output file only possible if `write_worker_results` is `True`."
)
WARN_PICKLE = "Pickling of results only possible if `write_worker_results` is `True`"
WARN_OUTPUT_DIR = (
    "Output directory specification has no effect if `write_worker_results` is `False`."
)
WARN_PICKLE_SHAPE = (
    "Pickling of results does not support output array shape specification."
)


def saver(x, taskID=None):  # noqa: N803  ACME's parameter name
    return x


def acme_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] == "ACME" and r.levelno == logging.WARNING
    ]


# -- accepted values: constructed maps (in-memory results, attached to `client`) -------


@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), np.float64(3.0)])
def test_n_inputs_integral(client, value):
    pmap = ParallelMap(f, 2, 3, n_inputs=value, write_worker_results=False)
    with pmap:
        assert pmap.n_inputs == 3
        assert type(pmap.n_inputs) is int
        assert pmap.config.n_calls == 3
        assert pmap.compute() == [15, 15, 15]


def test_n_inputs_auto(client):
    pmap = ParallelMap(f, [1, 2, 3, 4], 0, write_worker_results=False)
    with pmap:
        assert pmap.n_inputs == 4
        assert pmap.config.n_calls == 4


def test_in_memory_config(client, caplog):
    with ParallelMap(f, [1, 2], 0, write_worker_results=False) as pmap:
        config = pmap.config
        assert config.write_worker_results is False
        assert config.collect_results is True
        assert config.output_dir is None
        assert config.results_container is None
        assert config.single_file is False
        assert config.write_pickle is False
        assert config.dryrun is False
        assert config.resume is False
        assert config.result_shape is None
        assert config.stacking_dim is None
        assert config.logfile is None
    warnings = acme_warnings(caplog)
    assert any(
        "`write_worker_results` is `False` and `taskID` is not a keyword argument of f"
        in w
        for w in warnings
    )
    for ignored in (WARN_SINGLE, WARN_PICKLE, WARN_OUTPUT_DIR, WARN_PICKLE_SHAPE):
        assert not any(ignored in w for w in warnings)


def test_in_memory_with_task_id_is_not_collected(client, caplog):
    with ParallelMap(saver, [1, 2], write_worker_results=False) as pmap:
        assert pmap.config.collect_results is False
        assert pmap.config.write_worker_results is False
        assert pmap.compute() is None
    assert not any("taskID" in w for w in acme_warnings(caplog))


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({"single_file": True}, WARN_SINGLE),
        ({"write_pickle": True}, WARN_PICKLE),
        ({"output_dir": "results"}, WARN_OUTPUT_DIR),
    ],
    ids=["single_file", "write_pickle", "output_dir"],
)
def test_ignored_with_in_memory_results(client, caplog, tmp_path, kw, text):
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, **kw) as pmap:
        assert pmap.config.collect_results is True
        assert pmap.config.output_dir is None
        assert pmap.compute() == [3, 6]
    assert [w for w in acme_warnings(caplog) if text in w] == [text]
    assert not (tmp_path / "results").exists()


def test_option_warnings_reach_the_log_file(client, tmp_path):
    target = tmp_path / "run.log"
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, single_file=True, logfile=target
    ):
        pass
    lines = target.read_text().splitlines()
    assert "This is ACME v." in lines[0]
    assert any(WARN_SINGLE in line and "WARNING" in line for line in lines)


def test_single_file_and_pickle_both_ignored_in_memory(client, caplog):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, single_file=True, write_pickle=True
    ) as pmap:
        assert pmap.config.collect_results is True
    warnings = acme_warnings(caplog)
    assert any(WARN_SINGLE in w for w in warnings)
    assert any(WARN_PICKLE in w for w in warnings)


def test_pickle_ignores_result_shape(caplog):
    chosen = settings(write_pickle=True, result_shape=(None, 3))
    assert chosen.stacking is None
    assert [w for w in acme_warnings(caplog) if WARN_PICKLE_SHAPE in w] == [
        WARN_PICKLE_SHAPE
    ]


@pytest.mark.parametrize(
    ("kw", "mode"),
    [
        ({}, "multi-file"),
        ({"single_file": True}, "single-file"),
        ({"write_pickle": True}, "pickle"),
        ({"write_worker_results": False}, "memory"),
    ],
)
def test_output_mode(kw, mode):
    assert settings(**kw).output.value == mode


@pytest.mark.parametrize(
    ("value", "relative"),
    [("results", "results"), ("~/deep/results", "deep/results"), (Path("r"), "r")],
)
def test_output_dir_made_absolute_not_created(tmp_path, value, relative):
    chosen = settings(output_dir=value)
    assert chosen.output_dir is not None
    assert Path(chosen.output_dir) == tmp_path / relative
    assert Path(chosen.output_dir).is_absolute()
    assert not (tmp_path / relative).exists()


def test_output_dir_absolute_str(tmp_path):
    target = str(tmp_path / "abs")
    assert str(settings(output_dir=target).output_dir) == target


@pytest.mark.parametrize("days", [None, 0, 7])
def test_cleanup_threshold_days(client, days):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, cleanup_threshold_days=days
    ) as pmap:
        assert pmap.config.cleanup_threshold_days == days


def test_resume_accepted_with_output_dir(tmp_path):
    chosen = settings(resume=True, output_dir=tmp_path / "out")
    assert chosen.resume is True
    assert settings().resume is False


# -- logfile --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "relative"),
    [("run.log", "run.log"), ("~/home.log", "home.log"), (Path("p.log"), "p.log")],
)
def test_logfile_path_created(client, tmp_path, value, relative):
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, logfile=value) as pmap:
        assert pmap.config.logfile == str(tmp_path / relative)
        pmap.compute()
    text = (tmp_path / relative).read_text()
    assert "This is ACME v." in text


def test_logfile_absolute_path(client, tmp_path):
    target = tmp_path / "sub" / "abs.log"
    target.parent.mkdir()
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, logfile=target) as pmap:
        assert pmap.config.logfile == str(target)
    assert target.is_file()


def test_logfile_existing_is_appended(client, tmp_path):
    target = tmp_path / "old.log"
    target.write_text("previous line\n")
    with pytest.warns(UserWarning, match="already exists, appending to it"):
        pmap = ParallelMap(f, [1, 2], 0, write_worker_results=False, logfile=target)
    pmap.cleanup()
    lines = target.read_text().splitlines()
    assert lines[0] == "previous line"
    assert any("This is ACME v." in line for line in lines[1:])


def test_logfile_true_in_memory_goes_to_base(client, tmp_path, monkeypatch):
    base = tmp_path / "base"
    base.mkdir()
    monkeypatch.setenv("DASK_ACME__OUTPUT_BASE", str(base))
    dask.config.refresh()
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, logfile=True) as pmap:
        logfile = pmap.config.logfile
    assert logfile is not None
    assert Path(logfile).parent == base
    assert re.fullmatch(r"ACME_f_\d{8}-\d{6}\.log", Path(logfile).name)
    assert Path(logfile).is_file()


@pytest.mark.parametrize("value", [None, False])
def test_logfile_none_or_false_in_memory(client, tmp_path, value):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, logfile=tmp_path / "first.log"
    ) as first:
        assert first.config.logfile == str(tmp_path / "first.log")
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, logfile=value) as pmap:
        assert pmap.config.logfile is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.log"]


# -- result_shape / result_dtype ------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "normalised", "axis"),
    [
        ((None, 3), (2, 3), 0),
        ([3, None], (3, 2), 1),
        ((3, None, 3), (3, 2, 3), 1),
        ((None,), (2,), 0),
        ((None, 0), (2, 0), 0),
        ((None, np.int64(3)), (2, 3), 0),
    ],
)
def test_result_shape_normalised(client, shape, normalised, axis):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, result_shape=shape
    ) as pmap:
        assert pmap.config.result_shape == normalised
        assert type(pmap.config.result_shape) is tuple
        assert pmap.config.stacking_dim == axis
        assert pmap.config.result_dtype == "float"


def test_result_dtype_kept(client):
    with ParallelMap(
        f,
        [1, 2],
        0,
        write_worker_results=False,
        result_shape=(None,),
        result_dtype="float16",
    ) as pmap:
        assert pmap.config.result_dtype == "float16"
        result = pmap.compute()
    assert result.dtype == np.float16
    np.testing.assert_array_equal(result, [3, 6])


def test_result_dtype_unchecked_without_shape(client):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, result_dtype="notadtype"
    ) as pmap:
        assert pmap.config.result_shape is None
        assert pmap.compute() == [3, 6]


@pytest.mark.parametrize("dtype", ["int32", "f8", "complex128", "uint8"])
def test_result_dtype_accepted(dtype):
    chosen = settings(result_shape=(None, 2), result_dtype=dtype)
    assert chosen.stacking is not None
    assert chosen.stacking.dtype == dtype


def test_result_shape_inf_kept_on_disk():
    chosen = settings(result_shape=(None, 10, np.inf))
    assert chosen.stacking is not None
    assert chosen.stacking.normalised(4) == (4, 10, np.inf)
    assert chosen.stacking.axis == 0
