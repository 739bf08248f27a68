"""Every ``ParallelMap`` keyword: rejected values.

Each case goes through the public constructor and checks the exact class, the verbatim
fragment, the builtin base, that the error is not also logged at ERROR level, and that
nothing is left behind (no files, no client). Two bad keywords at once:
``test_settings_order.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from settings_cases import (
    BOOL,
    DTYPE_TYPE,
    DTYPE_VALUE,
    FLAGS,
    FUNC,
    INF_MEMORY,
    LOGFILE,
    MEM_TYPE,
    MEM_VALUE,
    N_INPUTS,
    N_WORKERS,
    NON_NEGATIVE,
    NUMERICAL,
    ONE_NONE,
    OUT,
    OUTPUT_DIR,
    PARTITION,
    PICKLE_SINGLE,
    RESUME_DIR,
    RESUME_MEMORY,
    SHAPE_TYPE,
    STOP_STR,
    STOP_TYPE,
    THRESHOLD,
    TIMEOUT_TYPE,
    TIMEOUT_VALUE,
    TWO_INF,
    VERBOSE,
    T,
    V,
    assert_fails,
    assert_not_logged_as_error,
    case,
    f,
)

from acme.errors import AcmeTypeError, OutputError

# -- rejected values -------------------------------------------------------------------


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
    # the announcement comes before the check of func
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
