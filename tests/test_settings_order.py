"""Two bad ``ParallelMap`` keywords: the earlier validation step (or the earlier
check of one step) wins. ``ParallelMap``'s own keywords are validated even where
``func`` has parameters of the same name, and never reach it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from settings_cases import (
    BOOL,
    DTYPE_TYPE,
    DTYPE_VALUE,
    FUNC,
    INF_MEMORY,
    LOGFILE,
    MEM_TYPE,
    N_INPUTS,
    N_WORKERS,
    NON_NEGATIVE,
    NUMERICAL,
    ONE_NONE,
    OUT,
    OUTPUT_DIR,
    PARTITION,
    PICKLE_SINGLE,
    RESUME_MEMORY,
    SHAPE_TYPE,
    STOP_STR,
    THRESHOLD,
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

from acme import ParallelMap
from acme.errors import AcmeTypeError, AcmeValueError

# -- error order: the earlier step or the earlier check wins -------------------------

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
