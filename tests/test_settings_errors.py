"""Every ``ParallelMap`` keyword (API.md 2.3): rejected values and their order.

Each case goes through the public constructor and checks the exact class, the verbatim
fragment, the builtin base (API.md 1.3), that the error is not also logged at ERROR
level, and that nothing is left behind (API.md 2.2: no files, no client). Where two
keywords are bad, the earlier step of API.md 2.2 (or earlier check of 2.3) wins.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import default_client

from acme import ParallelMap
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
    assert "<_" not in message  # no internal function names (API.md 1.3)
    assert sorted(cwd.rglob("*")) == before
    with pytest.raises(ValueError):
        default_client()
    return error


def assert_not_logged_as_error(caplog: pytest.LogCaptureFixture) -> None:
    """Validation errors are raised, not also logged at ERROR level (API.md 1.3)."""
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


# -- rejected values -------------------------------------------------------------------

T, V, OUT = AcmeTypeError, AcmeValueError, OutputError

REJECTED = [
    # n_inputs
    case("n_inputs-str", {"n_inputs": "x"}, V, N_INPUTS),
    case("n_inputs-digit-str", {"n_inputs": "3"}, V, N_INPUTS),
    case("n_inputs-AUTO", {"n_inputs": "AUTO"}, V, N_INPUTS),
    case("n_inputs-0", {"n_inputs": 0}, V, N_INPUTS),
    case("n_inputs--3", {"n_inputs": -3}, V, N_INPUTS),
    case("n_inputs-3.6", {"n_inputs": 3.6}, V, N_INPUTS),
    case("n_inputs-inf", {"n_inputs": float("inf")}, V, N_INPUTS),
    case("n_inputs-nan", {"n_inputs": float("nan")}, V, N_INPUTS),
    case("n_inputs-np-0", {"n_inputs": np.int64(0)}, V, N_INPUTS),
    case("n_inputs-True", {"n_inputs": True}, T, N_INPUTS),
    case("n_inputs-False", {"n_inputs": False}, T, N_INPUTS),
    case("n_inputs-np-bool", {"n_inputs": np.bool_(True)}, T, N_INPUTS),
    case("n_inputs-None", {"n_inputs": None}, T, N_INPUTS),
    case("n_inputs-list", {"n_inputs": [3]}, T, N_INPUTS),
    case("n_inputs-object", {"n_inputs": object()}, T, N_INPUTS),
    # bool flags
    *[
        case(
            f"{name}-{type(value).__name__}",
            {name: value},
            T,
            BOOL.format(name),
            type(value).__name__,
        )
        for name in FLAGS
        for value in (1, "True", None)
    ],
    case(
        "single_file+write_pickle",
        {"single_file": True, "write_pickle": True},
        V,
        PICKLE_SINGLE,
    ),
    # resume combinations
    case(
        "resume-in-memory",
        {"resume": True, "write_worker_results": False, "output_dir": "out"},
        V,
        RESUME_MEMORY,
    ),
    case("resume-no-output_dir", {"resume": True}, V, RESUME_DIR),
    case(
        "resume-pickle-no-output_dir",
        {"resume": True, "write_pickle": True},
        V,
        RESUME_DIR,
    ),
    case(
        "resume-single-no-output_dir",
        {"resume": True, "single_file": True},
        V,
        RESUME_DIR,
    ),
    # output_dir, cleanup_threshold_days
    case("output_dir-int", {"output_dir": 3}, T, OUTPUT_DIR, "int"),
    case("output_dir-list", {"output_dir": ["out"]}, T, OUTPUT_DIR, "list"),
    case("output_dir-bytes", {"output_dir": b"out"}, T, OUTPUT_DIR, "bytes"),
    case("threshold-str", {"cleanup_threshold_days": "7"}, T, THRESHOLD),
    case("threshold-list", {"cleanup_threshold_days": [7]}, T, THRESHOLD),
    case("threshold-bool", {"cleanup_threshold_days": True}, T, THRESHOLD),
    case("threshold-negative", {"cleanup_threshold_days": -1}, V, THRESHOLD),
    case("threshold-fraction", {"cleanup_threshold_days": 1.5}, V, THRESHOLD),
    # logfile
    case("logfile-int", {"logfile": 3}, T, LOGFILE, "int"),
    case("logfile-list", {"logfile": ["a.log"]}, T, LOGFILE, "list"),
    case("logfile-cwd", {"logfile": "."}, OUT, LOGFILE + "a directory"),
    case("logfile-home", {"logfile": "~"}, OUT, LOGFILE + "a directory"),
    case("logfile-path-dir", {"logfile": Path(".")}, OUT, LOGFILE + "a directory"),
    case(
        "logfile-dir-in-memory",
        {"logfile": ".", "write_worker_results": False},
        OUT,
        LOGFILE + "a directory",
    ),
    # result_shape / result_dtype, in the spec's order
    case("shape-int", {"result_shape": 5}, T, SHAPE_TYPE, "int"),
    case("shape-str", {"result_shape": "None,3"}, T, SHAPE_TYPE, "str"),
    case("shape-ndarray", {"result_shape": np.array([0, 3])}, T, SHAPE_TYPE, "ndarray"),
    case(
        "dtype-int",
        {"result_shape": (None, 3), "result_dtype": 3},
        T,
        DTYPE_TYPE,
        "int",
    ),
    case(
        "dtype-type-object",
        {"result_shape": (None, 3), "result_dtype": np.float32},
        T,
        DTYPE_TYPE,
        "type",
    ),
    case("shape-no-None", {"result_shape": (3, 4)}, V, ONE_NONE),
    case("shape-two-None", {"result_shape": (None, None)}, V, ONE_NONE),
    case("shape-empty-tuple", {"result_shape": ()}, V, ONE_NONE),
    case("shape-empty-list", {"result_shape": []}, V, ONE_NONE),
    case(
        "shape-inf-in-memory",
        {"result_shape": (None, np.inf), "write_worker_results": False},
        V,
        INF_MEMORY,
    ),
    case(
        "shape-inf-taskID-mode",
        {"result_shape": [np.inf, None], "write_worker_results": False},
        V,
        INF_MEMORY,
    ),
    case("shape-two-inf", {"result_shape": (None, np.inf, np.inf)}, V, TWO_INF),
    case("shape-str-entry", {"result_shape": (None, "a")}, V, NUMERICAL),
    case("shape-list-entry", {"result_shape": (None, [3])}, V, NUMERICAL),
    case("shape-negative", {"result_shape": (None, -1)}, V, NON_NEGATIVE),
    case("shape-fraction", {"result_shape": (None, 2.5)}, V, NON_NEGATIVE),
    case("shape-nan", {"result_shape": (None, np.nan)}, V, NON_NEGATIVE),
    case(
        "shape-minus-inf",
        {"result_shape": (None, -np.inf)},
        V,
        NON_NEGATIVE,
    ),
    case(
        "shape-minus-inf-in-memory",
        {"result_shape": (None, -np.inf), "write_worker_results": False},
        V,
        NON_NEGATIVE,
    ),
    case(
        "dtype-invalid",
        {"result_shape": (None, 3), "result_dtype": "notadtype"},
        T,
        DTYPE_VALUE,
    ),
    case(
        "dtype-invalid-datetime-unit",
        {"result_shape": (None, 3), "result_dtype": "M8[xyz]"},
        T,
        DTYPE_VALUE,
        "Invalid datetime unit",
    ),
    case(
        "dtype-invalid-syntax",
        {"result_shape": (None, 3), "result_dtype": "f4,,"},
        T,
        DTYPE_VALUE,
    ),
    # n_workers, setup_timeout, stop_client
    case("n_workers-str", {"n_workers": "x"}, V, N_WORKERS, "x"),
    case("n_workers-digit-str", {"n_workers": "4"}, V, N_WORKERS, "4"),
    case("n_workers-0", {"n_workers": 0}, V, N_WORKERS, "0"),
    case("n_workers-negative", {"n_workers": -1}, V, N_WORKERS, "-1"),
    case("n_workers-fraction", {"n_workers": 2.5}, V, N_WORKERS, "2.5"),
    case("n_workers-None", {"n_workers": None}, T, N_WORKERS, "None"),
    case("n_workers-list", {"n_workers": [2]}, T, N_WORKERS, "[2]"),
    case("n_workers-bool", {"n_workers": True}, T, N_WORKERS, "True"),
    case("timeout-str", {"setup_timeout": "60"}, T, TIMEOUT_TYPE, "str"),
    case("timeout-None", {"setup_timeout": None}, T, TIMEOUT_TYPE, "NoneType"),
    case("timeout-bool", {"setup_timeout": True}, T, TIMEOUT_TYPE, "bool"),
    case("timeout-negative", {"setup_timeout": -1}, V, TIMEOUT_VALUE, "-1"),
    case("timeout-fraction", {"setup_timeout": 2.5}, V, TIMEOUT_VALUE, "2.5"),
    case("stop_client-str", {"stop_client": "yes"}, V, STOP_STR, "yes"),
    case("stop_client-True-str", {"stop_client": "True"}, V, STOP_STR, "True"),
    case("stop_client-int", {"stop_client": 1}, T, STOP_TYPE, "int"),
    case("stop_client-None", {"stop_client": None}, T, STOP_TYPE, "NoneType"),
    # partition, mem_per_worker, verbose
    case("partition-int", {"partition": 3}, T, PARTITION, "int"),
    case("partition-None", {"partition": None}, T, PARTITION, "NoneType"),
    case("mem-int", {"mem_per_worker": 8000}, T, MEM_TYPE, "int"),
    case("mem-None", {"mem_per_worker": None}, T, MEM_TYPE, "NoneType"),
    *[
        case(f"mem-{value}", {"mem_per_worker": value}, V, MEM_VALUE, value)
        for value in ("8", "8TB", "-1GB", "0MB", "0GB", "GB", "eightGB", "auto8GB")
    ],
    case("verbose-int", {"verbose": 1}, T, VERBOSE, "int"),
    case("verbose-zero", {"verbose": 0}, T, VERBOSE, "int"),
    case("verbose-str", {"verbose": "yes"}, T, VERBOSE, "str"),
]


@pytest.mark.parametrize(("kw", "cls", "fragment", "tail"), REJECTED)
def test_rejected(caplog, kw, cls, fragment, tail):
    assert_fails(cls, fragment, tail, f, [1, 2], 0, **kw)
    assert_not_logged_as_error(caplog)


@pytest.mark.parametrize(
    ("func", "name"), [(3, "int"), ("f", "str"), (None, "NoneType"), ([f], "list")]
)
def test_func_not_callable(caplog, func, name):
    assert_fails(AcmeTypeError, FUNC, name, func, [1, 2], 0)
    # step 1 (announce) runs before step 2 (func)
    first = caplog.records[0].getMessage()
    assert first.startswith("This is ACME v. ")
    assert_not_logged_as_error(caplog)


def test_invalid_dtype_carries_numpy_message():
    with pytest.raises(TypeError) as numpy_error:
        np.dtype("notadtype")
    error = assert_fails(
        AcmeTypeError,
        DTYPE_VALUE,
        str(numpy_error.value),
        f,
        [1, 2],
        0,
        result_shape=(None, 3),
        result_dtype="notadtype",
    )
    assert isinstance(error.__cause__, TypeError)


def test_unopenable_logfile_leaves_nothing(tmp_path):
    target = tmp_path / "missing" / "run.log"
    error = assert_fails(
        OutputError,
        None,
        None,
        f,
        [1, 2],
        0,
        write_worker_results=False,
        logfile=target,
    )
    assert not target.parent.exists()
    assert error.path == str(target)
    assert str(target) in str(error)


# -- error order: the earlier step (API.md 2.2) or earlier check (2.3) wins ------------

ORDER = [
    case("verbose<func", {"func": 3, "verbose": 1}, T, VERBOSE, "int"),
    case("func<n_inputs", {"func": 3, "n_inputs": 0}, T, FUNC, "int"),
    case("n_inputs<arguments", {"args": (4,), "n_inputs": 0}, V, N_INPUTS),
    case("n_inputs<dryrun", {"n_inputs": 0, "dryrun": "x"}, V, N_INPUTS),
    case(
        "arguments<dryrun",
        {"args": (4,), "dryrun": "x"},
        V,
        "expects 2 positional arguments",
    ),
    case(
        "dryrun<setup_interactive",
        {"dryrun": "x", "setup_interactive": "x"},
        T,
        BOOL.format("dryrun"),
    ),
    case(
        "setup_interactive<write_worker_results",
        {"setup_interactive": 1, "write_worker_results": 1},
        T,
        BOOL.format("setup_interactive"),
    ),
    case(
        "write_worker_results<single_file",
        {"write_worker_results": 1, "single_file": 1},
        T,
        BOOL.format("write_worker_results"),
    ),
    case(
        "single_file<write_pickle",
        {"single_file": 1, "write_pickle": 1},
        T,
        BOOL.format("single_file"),
    ),
    case(
        "types<combination",
        {"single_file": True, "write_pickle": 1},
        T,
        BOOL.format("write_pickle"),
    ),
    case(
        "combination<resume",
        {"single_file": True, "write_pickle": True, "resume": 1},
        V,
        PICKLE_SINGLE,
    ),
    case("resume<output_dir", {"resume": 1, "output_dir": 3}, T, BOOL.format("resume")),
    case(
        "resume-combination<output_dir",
        {"resume": True, "write_worker_results": False, "output_dir": 3},
        V,
        RESUME_MEMORY,
    ),
    case(
        "output_dir<threshold",
        {"output_dir": 3, "cleanup_threshold_days": -1},
        T,
        OUTPUT_DIR,
    ),
    case(
        "threshold<logfile", {"cleanup_threshold_days": -1, "logfile": 3}, V, THRESHOLD
    ),
    case("logfile<result_shape", {"logfile": 3, "result_shape": 5}, T, LOGFILE),
    case("logfile-dir<result_shape", {"logfile": ".", "result_shape": 5}, OUT, LOGFILE),
    case(
        "shape-type<dtype-type", {"result_shape": 5, "result_dtype": 3}, T, SHAPE_TYPE
    ),
    case(
        "dtype-type<one-None",
        {"result_shape": (None, None), "result_dtype": 3},
        T,
        DTYPE_TYPE,
    ),
    case(
        "one-None<inf-in-memory",
        {"result_shape": (None, None, np.inf), "write_worker_results": False},
        V,
        ONE_NONE,
    ),
    case(
        "inf-in-memory<two-inf",
        {"result_shape": (None, np.inf, np.inf), "write_worker_results": False},
        V,
        INF_MEMORY,
    ),
    case(
        "two-inf<numerical", {"result_shape": (None, np.inf, np.inf, "a")}, V, TWO_INF
    ),
    case("numerical<non-negative", {"result_shape": (None, "a", -1)}, V, NUMERICAL),
    case(
        "non-negative<dtype-value",
        {"result_shape": (None, -1), "result_dtype": "notadtype"},
        V,
        NON_NEGATIVE,
    ),
    case("result_shape<n_workers", {"result_shape": 5, "n_workers": 0}, T, SHAPE_TYPE),
    case(
        "dtype-value<n_workers",
        {"result_shape": (None, 1), "result_dtype": "notadtype", "n_workers": 0},
        T,
        DTYPE_VALUE,
    ),
    case(
        "n_workers<setup_timeout", {"n_workers": 0, "setup_timeout": -1}, V, N_WORKERS
    ),
    case(
        "setup_timeout<stop_client",
        {"setup_timeout": -1, "stop_client": "x"},
        V,
        TIMEOUT_VALUE,
    ),
    case("stop_client<partition", {"stop_client": "x", "partition": 3}, V, STOP_STR),
    case(
        "partition<mem_per_worker", {"partition": 3, "mem_per_worker": 8}, T, PARTITION
    ),
    case(
        "mem-type<anything-later",
        {
            "mem_per_worker": 8,
            "write_worker_results": False,
            "logfile": Path("missing", "x.log"),
        },
        T,
        MEM_TYPE,
    ),
]


@pytest.mark.parametrize(("kw", "cls", "fragment", "tail"), ORDER)
def test_earlier_step_wins(caplog, kw, cls, fragment, tail):
    kw = dict(kw)
    func = kw.pop("func", f)
    args = kw.pop("args", ([1, 2], 0))
    assert_fails(cls, fragment, tail, func, *args, **kw)
    assert_not_logged_as_error(caplog)


def own_names(x, n_workers=7, dryrun="func's own"):
    return n_workers, dryrun


def test_own_keywords_validated_even_if_func_has_them():
    assert_fails(
        AcmeTypeError, BOOL.format("dryrun"), "str", own_names, [1, 2], dryrun="x"
    )
    assert_fails(AcmeValueError, N_WORKERS, "0", own_names, [1, 2], n_workers=0)


def test_own_keywords_never_reach_func(client):
    with ParallelMap(
        own_names, [1, 2], n_workers=3, dryrun=False, write_worker_results=False
    ) as pmap:
        assert pmap.compute() == [(7, "func's own"), (7, "func's own")]
