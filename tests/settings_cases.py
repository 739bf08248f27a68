"""Helpers of the ``test_settings*.py`` tests: the keyword defaults, ``settings()``
(validated options without a map), the rejection messages and ``assert_fails``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from distributed import default_client

from acme import ParallelMap
from acme._settings import from_public
from acme.errors import AcmeTypeError, AcmeValueError, OutputError

BUILTIN = {AcmeTypeError: TypeError, AcmeValueError: ValueError, OutputError: OSError}

BOOL = "`{}` has to be `True` or `False`, not "
N_INPUTS = "`n_inputs` has to be 'auto' or an integer >= 1"
OUTPUT_DIR = "`output_dir` has to be either `None` or str, not "
THRESHOLD = "`cleanup_threshold_days` has to be `None` or an integer >= 0"
LOGFILE = "`logfile` has to be `None`, `True`, `False` or a valid file-name, not "
SHAPE_TYPE = "`result_shape` has to be either `None` or tuple, not "
DTYPE_TYPE = "`result_dtype` has to be a string, not "
ONE_NONE = "`result_shape` must contain exactly one `None` entry"
INF_MEMORY = (
    "using `np.inf` in `result_shape` is only valid if `write_worker_results` is `True`"
)
TWO_INF = "cannot use more than one `np.inf` in `result_shape`"
NUMERICAL = "`result_shape` must only contain numerical values"
NON_NEGATIVE = "`result_shape` must only contain non-negative integers"
DTYPE_VALUE = "`result_dtype` has to be a valid NumPy datatype specification."
PICKLE_SINGLE = "Pickling of results does not support single output file creation."
RESUME_MEMORY = "`resume` is only valid if `write_worker_results` is `True`"
RESUME_DIR = "`resume=True` requires an explicit `output_dir`"
N_WORKERS = "`n_workers` has to be 'auto' or an integer >= 1, not "
TIMEOUT_TYPE = "`setup_timeout` has to be a scalar, not "
TIMEOUT_VALUE = "`setup_timeout` has to be an integer between 0 and inf, not "
STOP_STR = "`stop_client` has to be 'auto' or Boolean, not "
STOP_TYPE = "`stop_client` has to be `True` or `False`, not "
PARTITION = "`partition` has to be 'auto' or a valid SLURM partition name, not "
MEM_TYPE = "Memory specification `mem_per_worker` has to be a string, not "
MEM_VALUE = (
    "`mem_per_worker` has to be a valid memory specifier (e.g., '8GB', '12000MB'), not "
)
VERBOSE = "`verbose` has to be `True`, `False` or `None`, not "
FUNC = "<ParallelMap> first input has to be a callable function, not "

FLAGS = (
    "write_worker_results",
    "single_file",
    "write_pickle",
    "dryrun",
    "setup_interactive",
    "resume",
)


def f(x, y, z=3):
    return (x + y) * z


DEFAULTS: dict[str, Any] = {
    "write_worker_results": True,
    "cleanup_threshold_days": None,
    "output_dir": None,
    "result_shape": None,
    "result_dtype": "float",
    "single_file": False,
    "write_pickle": False,
    "partition": "auto",
    "n_workers": "auto",
    "mem_per_worker": "auto",
    "setup_timeout": 60,
    "setup_interactive": True,
    "stop_client": "auto",
    "dryrun": False,
    "logfile": None,
    "resume": False,
}


def settings(**kw: Any):
    """``from_public`` with the signature's defaults, ``kw`` overriding them."""
    return from_public({**DEFAULTS, **kw}, has_task_id=False)


def assert_fails(
    cls: type[Exception], fragment: str | None, tail: str | None, *args: Any, **kw: Any
) -> Exception:
    """Construct a ParallelMap that must fail with exactly ``cls`` and ``fragment``.

    ``tail`` (the ``<type>``/``<value>`` placeholder) must appear after the fragment.
    The working directory (= tmp_path = HOME) must be unchanged and no client may run.
    """
    cwd = Path.cwd()
    before = sorted(cwd.rglob("*"))
    with pytest.raises(
        cls, match=None if fragment is None else re.escape(fragment)
    ) as info:
        ParallelMap(*args, **kw)
    error = info.value
    assert type(error) is cls
    assert isinstance(error, BUILTIN[cls])
    message = str(error)
    if fragment is not None and tail is not None:
        assert tail in message[message.index(fragment) + len(fragment) :]
    assert "<_" not in message  # no internal function names in messages
    assert sorted(cwd.rglob("*")) == before
    with pytest.raises(ValueError):
        default_client()
    return error


def assert_not_logged_as_error(caplog: pytest.LogCaptureFixture) -> None:
    """Validation errors are raised, not also logged at ERROR level."""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def case(
    id_: str,
    kw: dict[str, Any],
    cls,
    fragment: str,
    tail: str | None = None,
    marks: Any = (),
):
    return pytest.param(kw, cls, fragment, tail, id=id_, marks=marks)


T, V, OUT = AcmeTypeError, AcmeValueError, OutputError
