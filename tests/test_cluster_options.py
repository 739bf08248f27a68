"""Validation of ``slurm_cluster_setup``'s keywords, and the options it builds.

Every check runs before SLURM is asked anything but ``sinfo`` (here replaced by
``avail_partitions``), in the order of the set-up steps; messages and exception
types are part of the interface.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from acme import slurm_cluster_setup
from acme.cluster._options import JobExtra, MemoryRequest, slurm_options
from acme.errors import AcmeTypeError, AcmeValueError

PARTITIONS = ["8GBS", "16GBL", "debug", "ESI"]


def setup(**kwargs):
    kwargs.setdefault("avail_partitions", PARTITIONS)
    kwargs.setdefault("partition", "debug")
    kwargs.setdefault("interactive", False)
    return slurm_cluster_setup(**kwargs)


def test_invalid_partition_lists_the_valid_ones():
    with pytest.raises(AcmeValueError) as info:
        setup(partition="32GBS", invalid_partitions=["ESI"])
    message = str(info.value)
    assert "Invalid partition selection 32GBS, available SLURM partitions are" in (
        message
    )
    assert all(name in message for name in ("8GBS", "16GBL", "debug"))
    assert "ESI" not in message


def test_invalid_partitions_are_refused():
    with pytest.raises(AcmeValueError, match="Invalid partition selection ESI"):
        setup(partition="ESI", invalid_partitions=["ESI"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_workers": "2"}, AcmeTypeError, "`n_workers` has to be a scalar, not"),
        ({"n_workers": True}, AcmeTypeError, "`n_workers` has to be a scalar, not"),
        (
            {"n_workers": 0},
            AcmeValueError,
            "`n_workers` has to be an integer between 1 and inf, not 0",
        ),
        (
            {"n_workers": 1.5},
            AcmeValueError,
            "`n_workers` has to be an integer between 1 and inf, not 1.5",
        ),
        (
            {"n_cores": 0},
            AcmeValueError,
            "`n_cores` has to be an integer between 1 and inf, not 0",
        ),
        ({"n_cores": "1"}, AcmeTypeError, "`n_cores` has to be a scalar, not"),
        (
            {"cores_per_worker": 0},
            AcmeValueError,
            "has to be an integer between 1 and inf, not 0",
        ),
        (
            {"n_workers_startup": -1},
            AcmeValueError,
            "`n_workers_startup` has to be an integer between 0 and inf, not -1",
        ),
        (
            {"mem_cushion": -1},
            AcmeValueError,
            "`mem_cushion` has to be an integer between 0 and inf, not -1",
        ),
        ({"mem_cushion": None}, AcmeTypeError, "`mem_cushion` has to be a scalar"),
    ],
)
def test_integer_rules_before_the_partition_query(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        setup(**kwargs)


MEM_MESSAGE = (
    "`mem_per_worker` has to be a valid memory specifier (e.g., '8GB', '12000MB'), not "
)


@pytest.mark.parametrize("value", ["lots", "8 TB", "0MB", "-1GB", "GB", "8G"])
def test_invalid_memory_values(value):
    with pytest.raises(AcmeValueError) as info:
        setup(mem_per_worker=value)
    assert MEM_MESSAGE in str(info.value)
    assert value in str(info.value)


def test_non_string_memory_value():
    with pytest.raises(AcmeTypeError) as info:
        setup(mem_per_worker=8)
    assert MEM_MESSAGE in str(info.value)


# -- the later steps: still before any scontrol query ---------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"timeout": -1},
            AcmeValueError,
            "`timeout` has to be an integer between 0 and inf, not -1",
        ),
        ({"timeout": "60"}, AcmeTypeError, "`timeout` has to be a scalar, not"),
        (
            {"interactive_wait": -1},
            AcmeValueError,
            "`interactive_wait` has to be an integer between 0 and inf, not -1",
        ),
        (
            {"interactive": "no"},
            AcmeTypeError,
            "`interactive` has to be Boolean, not <class 'str'>",
        ),
        (
            {"start_client": 1},
            AcmeTypeError,
            "`start_client` has to be Boolean, not <class 'int'>",
        ),
        (
            {"job_extra": "--comment=x"},
            AcmeTypeError,
            "`job_extra` has to be a list, not <class 'str'>",
        ),
        (
            {"job_extra": ("--comment=x",)},
            AcmeTypeError,
            "`job_extra` has to be a list, not <class 'tuple'>",
        ),
        (
            {"job_extra": ["--comment=x", 3]},
            AcmeTypeError,
            "`job_extra` has to be a valid sbatch option, not <class 'int'>",
        ),
        (
            {"job_extra": ["comment=x"]},
            AcmeValueError,
            "`job_extra` options must be flagged with - or --",
        ),
        (
            {"job_extra": ["-o /tmp/slurm-%j.out"]},
            AcmeValueError,
            "SLURM output directory must be specified using "
            "-o/--output=/path/to/file, not -o /tmp/slurm-%j.out",
        ),
        (
            {"job_extra": ["--output", "/tmp/slurm-%j.out"]},
            AcmeValueError,
            "SLURM output directory must be specified using -o/--output=",
        ),
        (
            {"processes_per_worker": 0},
            AcmeValueError,
            "`processes_per_worker` has to be an integer between 1 and inf, not 0",
        ),
        (
            {"processes_per_worker": True},
            AcmeTypeError,
            "`processes_per_worker` has to be a scalar",
        ),
    ],
)
def test_validation_of_the_later_steps(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        setup(**kwargs)


def test_output_folder_must_exist(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(AcmeValueError) as info:
        setup(job_extra=[f"--output={missing}/slurm-%j.out"])
    assert f"SLURM output location has to be an existing directory, not {missing}" in (
        str(info.value)
    )


# -- the options built -------------------------------------------------------------


def keywords(**kw):
    """slurm_cluster_setup's keywords as given, with its defaults."""
    defaults = dict(
        partition="debug", n_cores=1, n_workers=1, processes_per_worker=1,
        mem_per_worker="1GB", n_workers_startup=1, timeout=60, interactive=True,
        interactive_wait=10, start_client=True, job_extra=None,
        worker_extra_args=None, scheduler_options=None, mem_cushion=100, kwargs={},
    )  # fmt: skip
    return {**defaults, **kw}


def test_options_are_typed_and_normalised(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    extra = [f"--output={logs}/slurm-%j.out"]
    kw = keywords(
        partition="auto",
        n_workers=2.0,
        mem_per_worker="estimate_memuse:2.5",
        n_cores=3,
        timeout=0,
        interactive=False,
        start_client=False,
        job_extra=extra,
        worker_extra_args=["--memory-limit", "0"],
        kwargs={"walltime": "01:00:00"},
    )
    options = slurm_options(["8GBS", "debug"], "8GBS", kw)
    assert options.partition is None  # "auto": picked when the cluster starts
    assert (options.partitions, options.default_partition) == (
        ("8GBS", "debug"),
        "8GBS",
    )
    assert options.n_workers == 2 and type(options.n_workers) is int
    assert options.memory == MemoryRequest(3 * 1024, 3)
    assert (options.n_cores, options.timeout) == (3, 0)
    assert (options.interactive, options.start_client) == (False, False)
    assert options.job_extra == JobExtra((extra[0],), logs)
    assert options.worker_extra_args == ("--memory-limit", "0")
    assert options.extra == {"walltime": "01:00:00"}


def test_options_are_frozen_copies():
    extra = ["--comment=x"]
    options = slurm_options(["debug"], "debug", keywords(job_extra=extra))
    extra.append("--begin=now")
    assert options.job_extra.options == ("--comment=x",)
    assert options.partition == "debug"
    assert options.memory == MemoryRequest(1000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.n_workers = 3  # type: ignore[misc]
