"""Property tests of keyword validation (user guide and API reference).

Every public keyword of ``ParallelMap`` and of the cluster helpers, given a
generated wrong type or value (the others at their defaults), raises
AcmeTypeError or AcmeValueError naming the keyword, creates nothing on disk and
starts no client. A small model of each keyword's rule (:data:`RULES`) decides
which values are wrong and which class the error has; values the model accepts
are skipped, because they would go on to start a cluster (guards below turn that
into a test failure instead).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dask.utils import parse_bytes
from distributed import get_client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from slurm_helpers import FakeSlurm, canned

import acme._setup
import acme.cluster._site
import acme.cluster._slurm_info
import acme.cluster.local
import acme.cluster.slurm
from acme import (
    ParallelMap,
    bic_cluster_setup,
    esi_cluster_setup,
    local_cluster_setup,
    slurm_cluster_setup,
)
from acme.errors import AcmeTypeError, AcmeValueError

T, V = AcmeTypeError, AcmeValueError

# -- generated values ------------------------------------------------------------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(),  # nan and inf included
    st.text(max_size=6),
    st.sampled_from(
        [
            *["auto", "Auto", "8GB", "12000MB", "0GB", "-1MB", "1.5gb", " 2 GB "],
            *["GB", "2 GiB", "estimate_memuse:3", "estimate_memuse:x", "-o", "x"],
        ]
    ),
    st.binary(max_size=3),
    st.lists(st.integers(-2, 3) | st.none() | st.text(max_size=2), max_size=3),
    st.lists(st.integers(-2, 3) | st.none() | st.just(math.inf), max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.lists(  # sbatch-option lookalikes, for job_extra
        st.sampled_from(
            ["--mem=1G", "-x", "mem", "-o out", "--output=/no/such/f", "--output=f"]
        ),
        max_size=3,
    ),
    st.sampled_from([np.int8(3), np.int64(-1), np.float32(2.5), np.float64(4.0)]),
    st.sampled_from([np.bool_(True), np.complex128(3), np.str_("auto"), 2j]),
    st.sampled_from([object(), set(), frozenset(), print, np.zeros(2), Path("p")]),
)


def is_number(value: Any) -> bool:
    """An int, float or real NumPy number; never a bool."""
    if isinstance(value, bool | np.bool_ | np.timedelta64):
        return False
    return isinstance(value, int | float | np.integer | np.floating)


def integer(lo: int, none: bool = False, auto: bool = False, strings: type = V):
    """The rule of an integral keyword >= ``lo`` (None / "auto" accepted if set)."""

    def rule(value: Any) -> type | None:
        if (none and value is None) or (auto and is_auto(value)):
            return None
        if auto and isinstance(value, str):
            return strings
        if not is_number(value):
            return T
        if not math.isfinite(value) or value != int(value) or value < lo:
            return V
        return None

    return rule


def is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


def flag(value: Any) -> type | None:
    return None if isinstance(value, bool) else T


def auto_or_flag(value: Any) -> type | None:
    if isinstance(value, str):
        return None if value == "auto" else V
    return flag(value)


def text_or_path(none: bool, bools: bool = False):
    def rule(value: Any) -> type | None:
        if (none and value is None) or (bools and isinstance(value, bool)):
            return None
        return None if isinstance(value, str | os.PathLike) else T

    return rule


def mem_string(value: Any, estimate: bool = False, auto: bool = True) -> type | None:
    if value is None and estimate:
        return None
    if not isinstance(value, str):
        return T
    if (auto and is_auto(value)) or (estimate and _estimate(value)):
        return None
    text = value.strip().upper()
    if not text.endswith(("MB", "GB")):
        return V
    number = text[:-2].strip()
    try:
        amount = float(number)
    except ValueError:
        return V
    if not number.replace(".", "", 1).isdecimal() or amount <= 0:
        return V
    return None


def _estimate(value: str) -> bool:
    head, _, tail = value.partition(":")
    return head == "estimate_memuse" and tail.replace(".", "", 1).isdecimal()


def result_shape(value: Any) -> type | None:
    if value is None:
        return None
    if not isinstance(value, tuple | list):
        return T
    sizes = [e for e in value if e is not None]
    if len(value) - len(sizes) != 1 or sum(e == math.inf for e in sizes) > 1:
        return V
    finite = [e for e in sizes if e != math.inf]
    if not all(is_number(e) and e >= 0 and e == int(e) for e in finite):
        return V
    return None


def verbose(value: Any) -> type | None:
    return None if value is None or isinstance(value, bool) else T


def n_inputs(value: Any) -> type | None:
    return integer(1, auto=True)(value)


PMAP_RULES = {
    "n_inputs": n_inputs,
    "write_worker_results": flag,
    "cleanup_threshold_days": integer(0, none=True),
    "output_dir": text_or_path(none=True),
    "result_shape": result_shape,
    "single_file": flag,
    "write_pickle": flag,
    "partition": lambda v: None if isinstance(v, str) else T,
    "n_workers": integer(1, auto=True),
    "mem_per_worker": mem_string,
    "setup_timeout": integer(0),
    "setup_interactive": flag,
    "stop_client": auto_or_flag,
    "verbose": verbose,
    "dryrun": flag,
    "logfile": text_or_path(none=True, bools=True),
    "resume": flag,
}


def f(x, y=0):
    return x


def assert_rejected(error: Exception, expected: type, name: str, tmp_path) -> None:
    assert type(error) is expected, (name, error)
    assert isinstance(error, TypeError if expected is T else ValueError)
    # the documented messages about job_extra's --output name the option instead
    aliases = ("-o/--output", "SLURM output location") if name == "job_extra" else ()
    assert any(text in str(error) for text in (name, *aliases)), (name, error)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        get_client()


@pytest.fixture
def no_cluster_start(monkeypatch):
    """A bug letting a wrong value through fails here instead of starting a cluster."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validation passed: a client would be started")

    monkeypatch.setattr(acme._setup, "acquire_client", refuse)
    monkeypatch.setattr(acme.cluster.local, "start_local", refuse)
    monkeypatch.setattr(acme.cluster.slurm, "_start_slurm", refuse)
    monkeypatch.setattr(acme.cluster._site, "start_site", refuse)


# -- ParallelMap -----------------------------------------------------------------------

LIMITS = settings(
    max_examples=600,
    deadline=None,
    # the examples share tmp_path on purpose: it has to stay empty through all
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@LIMITS
@given(st.sampled_from(sorted(PMAP_RULES)), values)
def test_parallel_map_keyword_errors(tmp_path, no_cluster_start, name, value):
    expected = PMAP_RULES[name](value)
    assume(expected is not None)
    with pytest.raises((T, V)) as info:
        ParallelMap(f, [1, 2], **{name: value})
    assert_rejected(info.value, expected, f"`{name}`", tmp_path)


@LIMITS
@given(values)
def test_parallel_map_result_dtype_errors(tmp_path, no_cluster_start, dtype):
    if isinstance(dtype, str):
        try:
            with warnings.catch_warnings():  # deprecated aliases are still valid
                warnings.simplefilter("ignore", DeprecationWarning)
                np.dtype(dtype)
        except (TypeError, SyntaxError, ValueError):
            pass
        else:
            assume(False)
    with pytest.raises(T) as info:
        ParallelMap(f, [1, 2], result_shape=(None,), result_dtype=dtype)
    assert_rejected(info.value, T, "`result_dtype`", tmp_path)


@LIMITS
@given(values)
def test_parallel_map_func_errors(tmp_path, no_cluster_start, func):
    assume(not callable(func))
    with pytest.raises(T) as info:
        ParallelMap(func, [1, 2])
    assert_rejected(info.value, T, "first input", tmp_path)


# -- local_cluster_setup ---------------------------------------------------------------


def dask_memory(value: Any) -> type | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return T
    try:
        parse_bytes(value)
    except ValueError:
        return V
    return None


LOCAL_RULES = {
    "n_workers": integer(1, none=True),
    "mem_per_worker": dask_memory,
    "interactive": flag,
}


@LIMITS
@given(st.sampled_from(sorted(LOCAL_RULES)), values)
def test_local_cluster_setup_keyword_errors(tmp_path, no_cluster_start, name, value):
    expected = LOCAL_RULES[name](value)
    assume(expected is not None)
    with pytest.raises((T, V)) as info:
        local_cluster_setup(**{name: value})
    assert_rejected(info.value, expected, f"`{name}`", tmp_path)


# -- the SLURM helpers: only checks made before any SLURM command ----------------------


def job_extra(value: Any) -> type | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return T
    for option in value:
        if not isinstance(option, str):
            return T
        if not option.startswith("-"):
            return V
        if option.split("=")[0].split()[0] in ("-o", "--output"):
            if not option.startswith("--output="):
                return V
            target = Path(os.path.expanduser(option.split("=", 1)[1]))
            if not target.parent.is_dir():
                return V
    return None


def slurm_partition(value: Any) -> type | None:
    if isinstance(value, np.ndarray):
        return None  # covered by test_slurm_container_keywords_are_validated
    return None if value is None or value in ("8GBS", "auto") else V


SLURM_RULES = {
    "partition": slurm_partition,
    "n_cores": integer(1),
    "n_workers": integer(1),
    "processes_per_worker": integer(1),
    "mem_per_worker": lambda v: mem_string(v, estimate=True),
    "n_workers_startup": integer(0),
    "timeout": integer(0),
    "interactive": flag,
    "interactive_wait": integer(0),
    "start_client": flag,
    "job_extra": job_extra,
    "mem_cushion": integer(0),
}


@pytest.fixture
def no_slurm_command(monkeypatch):
    def refuse(argv: Any, timeout: float) -> str:
        raise AssertionError(f"SLURM command run: {argv}")

    monkeypatch.setattr(acme.cluster._slurm_info, "_run", refuse)


@LIMITS
@given(st.sampled_from(sorted(SLURM_RULES)), values | st.lists(values, max_size=2))
def test_slurm_cluster_setup_keyword_errors(
    tmp_path, no_cluster_start, no_slurm_command, name, value
):
    expected = SLURM_RULES[name](value)
    assume(expected is not None)
    kw = {"partition": "8GBS", "avail_partitions": ["8GBS", "debug"], name: value}
    with pytest.raises((T, V)) as info:
        slurm_cluster_setup(**kw)
    assert_rejected(info.value, expected, name, tmp_path)


SITE_RULES = {
    key: rule
    for key, rule in SLURM_RULES.items()
    if key not in ("partition", "n_cores", "processes_per_worker")
}
SITE_RULES["cores_per_worker"] = integer(1, none=True)
SITE_NAMES: dict[str, str] = {}  # errors name the keyword the user gave


@pytest.fixture
def sinfo_only(monkeypatch):
    """SLURM answers ``sinfo`` from canned output; any other command fails the test."""
    fake = FakeSlurm({("sinfo",): canned("sinfo_partitions.txt")})
    monkeypatch.setattr(acme.cluster._slurm_info, "_run", fake)
    return fake


@LIMITS
@given(
    st.sampled_from([esi_cluster_setup, bic_cluster_setup]),
    st.sampled_from(sorted(SITE_RULES)),
    values | st.lists(values, max_size=2),
)
def test_site_setup_keyword_errors(
    tmp_path, no_cluster_start, sinfo_only, setup, name, value
):
    expected = SITE_RULES[name](value)
    assume(expected is not None)
    partition = "8GBS" if setup is esi_cluster_setup else "debug"
    with pytest.raises((T, V)) as info:
        setup(partition=partition, **{name: value})
    assert_rejected(info.value, expected, SITE_NAMES.get(name, name), tmp_path)
    assert {argv[0] for argv in sinfo_only.calls} <= {"sinfo"}  # job_extra: none


def test_site_cores_per_worker_error_names_it(no_cluster_start, sinfo_only):
    with pytest.raises(T, match="cores_per_worker"):
        esi_cluster_setup(partition="8GBS", cores_per_worker=False)


@pytest.mark.parametrize(
    "kw",
    [
        {"partition": np.zeros(2)},
        {"worker_extra_args": 5},
        {"scheduler_options": 5},
        {"avail_partitions": 5},
        {"invalid_partitions": 5},
    ],
    ids=lambda kw: next(iter(kw)),
)
def test_slurm_container_keywords_are_validated(no_cluster_start, no_slurm_command, kw):
    name = next(iter(kw))
    kw = {"partition": "8GBS", "avail_partitions": ["8GBS"], **kw}
    if name == "partition":  # not one of the partitions, like any other value
        with pytest.raises(V, match="Invalid partition selection"):
            slurm_cluster_setup(**kw)
        return
    with pytest.raises(T, match=f"`{name}` has to be"):
        slurm_cluster_setup(**kw)
