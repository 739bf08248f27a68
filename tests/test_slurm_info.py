"""Parsers of SLURM's output, ``PartitionInfo`` and the ``_run`` seam itself.

The parsers are checked against canned command output in ``tests/data`` (the
``8GBS`` and ``vm`` lines were captured from the CI SLURM of
``.ci/slurm/start-slurm.sh``; the others are shaped after real sites);
``slurm``-marked tests compare the canned data with the live controller.
"""

from __future__ import annotations

import logging
import shutil
import sys

import dask.config
import pytest
from slurm_helpers import canned

from acme import _startup
from acme._startup import use_slurm
from acme.cluster import _slurm_info
from acme.cluster._slurm_info import (
    PartitionInfo,
    parse_key_values,
    parse_mem_mb,
    parse_tres_mem_mb,
    partition_info,
    partitions,
)
from acme.errors import SlurmError

# -- parse_key_values --------------------------------------------------------------


def test_parse_key_values_of_a_real_partition_line():
    fields = parse_key_values(canned("scontrol_partition_8GBS.txt"))
    assert fields["PartitionName"] == "8GBS"
    assert fields["Default"] == "YES"
    assert fields["QoS"] == "N/A"
    assert fields["MaxMemPerNode"] == "8000"
    assert fields["DefMemPerNode"] == "UNLIMITED"
    assert fields["Nodes"] == "vm"
    assert fields["JobDefaults"] == "(null)"
    # values holding "=" themselves stay whole
    assert fields["TRES"] == "cpu=8,mem=21694M,node=1,billing=8"
    assert "MaxMemPerCPU" not in fields
    assert "DefMemPerCPU" not in fields


def test_parse_key_values_of_a_partition_line_with_per_cpu_limits_and_qos():
    fields = parse_key_values(canned("scontrol_partition_gpu_qos.txt"))
    assert fields["QoS"] == "gpu_limit"
    assert fields["DefMemPerCPU"] == "3800"
    assert fields["MaxMemPerCPU"] == "7600"
    assert fields["Nodes"] == "gpu[01-02]"
    assert fields["MaxTime"] == "2-00:00:00"
    assert "MaxMemPerNode" not in fields


def test_parse_key_values_of_node_lines_with_spaces_in_values():
    # the OS value "Linux 6.18.44-fc-v782 #1 SMP ..." contains spaces
    fields = parse_key_values(canned("scontrol_node_vm.txt"))
    assert fields["NodeName"] == "vm"
    assert fields["RealMemory"] == "21694"
    assert fields["Partitions"] == "8GBS,16GBL,debug"
    lines = canned("scontrol_nodes_gpu.txt").splitlines()
    assert [parse_key_values(line)["RealMemory"] for line in lines] == [
        "515000",
        "257000",
    ]


def test_parse_key_values_of_empty_output():
    assert parse_key_values("") == {}
    assert parse_key_values("   \n") == {}


# -- parse_mem_mb / parse_tres_mem_mb ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8000", 8000),
        ("21694", 21694),
        ("512M", 512),
        ("16G", 16 * 1024),
        ("2T", 2 * 1024**2),
        ("2048K", 2),
        ("1.5G", 1536),
        ("UNLIMITED", None),
        ("0", None),
        ("N/A", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_mem_mb(value, expected):
    assert parse_mem_mb(value) == expected


@pytest.mark.parametrize(
    ("tres", "expected"),
    [
        ("cpu=64,gres/gpu=4,mem=240G", 240 * 1024),
        ("mem=2000M", 2000),
        ("mem=16000,cpu=4", 16000),
        ("cpu=64,gres/gpu=4", None),
        ("MaxTRES", None),  # the header sacctmgr prints without -n
        ("", None),
    ],
)
def test_parse_tres_mem_mb(tres, expected):
    assert parse_tres_mem_mb(tres) == expected


def test_parse_tres_mem_mb_of_canned_sacctmgr_output():
    lines = canned("sacctmgr_qos_maxtres.txt").splitlines()
    assert [parse_tres_mem_mb(line) for line in lines] == [None, 240 * 1024]


# -- PartitionInfo.cap_mb: QoS, MaxMemPerCPU x cores, MaxMemPerNode, RealMemory ----


def facts_of(**fields) -> PartitionInfo:
    values = dict.fromkeys(
        ("def_mem_per_cpu", "max_mem_per_cpu", "max_mem_per_node", "qos_mem"), None
    )
    return PartitionInfo(name="p", **{**values, "node_mem": None, **fields})


@pytest.mark.parametrize(
    ("fields", "n_cores", "expected"),
    [
        # a QoS memory cap wins over everything else, whatever the cores
        (
            {
                "qos_mem": 3000,
                "max_mem_per_cpu": 8000,
                "max_mem_per_node": 64000,
                "node_mem": 128000,
            },
            4,
            3000,
        ),
        # then MaxMemPerCPU times the cores, even above MaxMemPerNode
        (
            {"max_mem_per_cpu": 4000, "max_mem_per_node": 6000, "node_mem": 128000},
            3,
            12000,
        ),
        ({"max_mem_per_cpu": 4000, "node_mem": 128000}, 1, 4000),
        # then MaxMemPerNode
        ({"max_mem_per_node": 8000, "node_mem": 21694}, 4, 8000),
        # then the smallest RealMemory of the partition's nodes
        ({"node_mem": 21694}, 2, 21694),
        # DefMemPerCPU is a default, never a cap
        ({"def_mem_per_cpu": 2000}, 2, None),
        ({}, 1, None),
    ],
)
def test_cap_mb_rule_order(fields, n_cores, expected):
    assert facts_of(**fields).cap_mb(n_cores) == expected


# -- SlurmError from real subprocesses (no SLURM needed) -----------------------------


def test_slurm_error_carries_argv_returncode_and_stderr():
    code = (
        "import sys; print('partial'); sys.stderr.write('broken pipe\\n'); sys.exit(3)"
    )
    argv = [sys.executable, "-c", code]
    with pytest.raises(SlurmError) as info:
        _slurm_info._run(argv, 30)
    error = info.value
    assert isinstance(error, OSError)
    assert error.argv == argv
    assert error.returncode == 3
    assert error.stderr.strip() == "broken pipe"
    assert "broken pipe" in str(error)


def test_slurm_error_of_a_missing_command():
    argv = ["acme-test-no-such-command", "-h"]
    with pytest.raises(SlurmError) as info:
        _slurm_info._run(argv, 30)
    assert info.value.argv == argv
    assert info.value.returncode is None
    assert info.value.stderr is None


def test_slurm_error_of_a_command_timing_out():
    argv = [sys.executable, "-c", "import time; time.sleep(10)"]
    with pytest.raises(SlurmError) as info:
        _slurm_info._run(argv, 0.2)
    assert info.value.argv == argv


def test_run_returns_stdout():
    argv = [sys.executable, "-c", "print('8GBS*')"]
    assert _slurm_info._run(argv, 30) == "8GBS*\n"


# -- acme.cluster "auto": the probe (a stand-in `sinfo` on PATH) ---------------------


def sinfo_on_path(tmp_path, monkeypatch, body):
    """A stand-in ``sinfo`` running ``body`` (None: no ``sinfo`` on PATH at all)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    if body is not None:
        script = folder / "sinfo"
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setattr(_startup, "_unanswered_at", None)  # no earlier test's probe
    monkeypatch.setenv("DASK_ACME__CLUSTER", "auto")
    monkeypatch.setenv("DASK_ACME__SLURM__PROBE_TIMEOUT", "0.5")
    dask.config.refresh()


@pytest.mark.parametrize(
    "body, why",
    [
        # what sinfo does when it cannot reach its controller
        (
            "echo 'sinfo: error: Unable to contact slurm controller' >&2; exit 1",
            "exited with 1: sinfo: error: Unable to contact slurm controller",
        ),
        (f"exec {shutil.which('sleep')} 5", "timed out after 0.5 seconds"),
    ],
    ids=["controller-down", "hangs"],
)
def test_installed_sinfo_that_does_not_answer_is_reported(
    tmp_path, monkeypatch, acme_log, body, why
):
    sinfo_on_path(tmp_path, monkeypatch, body)
    assert use_slurm() is False
    assert "SLURM's `sinfo` is installed but did not answer" in acme_log.text
    assert why in acme_log.text
    assert "starting a local cluster instead" in acme_log.text


def test_sinfo_that_did_not_answer_is_not_asked_again_for_a_while(
    tmp_path, monkeypatch, acme_log
):
    asked = tmp_path / "asked"
    sinfo_on_path(tmp_path, monkeypatch, f"echo once >> {asked}; exit 1")
    logging.getLogger("ACME").setLevel(logging.INFO)  # as a ParallelMap sets it
    assert use_slurm() is False
    assert use_slurm() is False  # a second ParallelMap: no second wait
    assert asked.read_text() == "once\n"
    assert "did not answer 0 s ago: starting a local cluster" in acme_log.text
    monkeypatch.setattr(_startup, "PROBE_MEMORY", 0.0)  # that while is over
    assert use_slurm() is False
    assert asked.read_text() == "once\nonce\n"


def test_no_sinfo_at_all_means_local_without_a_word(tmp_path, monkeypatch, acme_log):
    sinfo_on_path(tmp_path, monkeypatch, None)
    assert use_slurm() is False
    assert acme_log.text == ""


def test_answering_sinfo_means_slurm(tmp_path, monkeypatch, acme_log):
    sinfo_on_path(tmp_path, monkeypatch, "echo 'debug*'")
    assert use_slurm() is True
    assert acme_log.text == ""


# -- the canned data against the live controller ------------------------------------


@pytest.mark.slurm
def test_live_partitions_match_canned_sinfo():
    names, default = partitions()
    assert (names, default) == (["8GBS", "16GBL", "debug"], "8GBS")


@pytest.mark.slurm
def test_live_partition_info():
    facts = partition_info("debug")
    assert facts.max_mem_per_node == 2000
    assert facts.max_mem_per_cpu is None
    assert facts.qos_mem is None
    assert facts.node_mem is not None and facts.node_mem > 2000
    assert facts.cap_mb(1) == 2000
    assert partition_info("8GBS").cap_mb(4) == 8000
    assert partition_info("16GBL").cap_mb(4) == 16000


@pytest.mark.slurm
def test_live_sacctmgr_without_accounting_daemon():
    argv = ["sacctmgr", "show", "qos", "name=normal", "format=MaxTRES", "-P"]
    with pytest.raises(SlurmError) as info:
        _slurm_info._run(argv, 30)
    assert info.value.argv == argv
    assert info.value.returncode not in (0, None)
    assert "accounting_storage" in info.value.stderr
    assert _slurm_info._qos_mem("normal") is None  # not an error (D4)
