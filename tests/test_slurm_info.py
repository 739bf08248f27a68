"""SLURM queries and their parsers (``acme.cluster._slurm_info``).

The parsers are checked against canned command output in ``tests/data`` (the
``8GBS`` and ``vm`` lines were captured from the CI SLURM of
``.ci/slurm/start-slurm.sh``; the others are shaped after real sites). Commands
are faked only at the one seam ``_slurm_info._run`` and only for outputs or
failures this SLURM cannot produce on demand; ``slurm``-marked tests compare the
canned data with the live controller.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from acme import slurm_cluster_setup
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

DATA = Path(__file__).with_name("data")
NO_ACCOUNTING = (DATA / "sacctmgr_no_accounting.stderr").read_text()
CONTROLLER_DOWN = (
    "slurm_load_partitions: Unable to contact slurm controller (connect failure)"
)


def canned(name: str) -> str:
    return (DATA / name).read_text()


class FakeSlurm:
    """Answers ``_run(argv, timeout)`` from canned outputs; records every call.

    ``routes`` maps a tuple of argv items (the first is the command, the others
    must all occur in argv) to the stdout to return, or to a ``SlurmError`` or
    ``OSError`` to raise as the real ``_run`` would.
    """

    def __init__(self, routes: dict[tuple[str, ...], str | Exception]) -> None:
        self.routes = routes
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> str:
        argv = list(argv)
        assert all(isinstance(item, str) for item in argv), argv
        assert timeout > 0
        self.calls.append(argv)
        for route, answer in self.routes.items():
            if argv[0] == route[0] and all(item in argv[1:] for item in route[1:]):
                if isinstance(answer, SlurmError):
                    raise answer
                if isinstance(answer, OSError):
                    raise SlurmError(f"{argv[0]} failed: {answer}", argv=argv) from None
                return answer
        raise AssertionError(f"unexpected SLURM command {argv}")

    def commands(self, name: str) -> list[list[str]]:
        return [argv for argv in self.calls if argv[0] == name]


def failure(argv: list[str], returncode: int, stderr: str) -> SlurmError:
    """The ``SlurmError`` the real ``_run`` raises for a command exiting non-zero."""
    return SlurmError(
        f"{' '.join(argv)} exited with {returncode}: {stderr.strip()}",
        argv=argv,
        returncode=returncode,
        stderr=stderr,
    )


@pytest.fixture
def fake_slurm(monkeypatch):
    def install(routes: dict[tuple[str, ...], str | Exception]) -> FakeSlurm:
        fake = FakeSlurm(routes)
        monkeypatch.setattr(_slurm_info, "_run", fake)
        return fake

    return install


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


# -- queries through the _run seam -----------------------------------------------------


def test_partitions_from_canned_sinfo(fake_slurm):
    fake = fake_slurm({("sinfo",): canned("sinfo_partitions.txt")})
    assert partitions() == (["8GBS", "16GBL", "debug"], "8GBS")
    assert fake.calls == [["sinfo", "-h", "-o", "%P"]]


def test_partition_info_from_canned_real_output(fake_slurm):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "8GBS"): canned(
                "scontrol_partition_8GBS.txt"
            ),
            ("scontrol", "-o", "node", "vm"): canned("scontrol_node_vm.txt"),
        }
    )
    facts = partition_info("8GBS")
    assert facts == PartitionInfo(
        name="8GBS",
        def_mem_per_cpu=None,
        max_mem_per_cpu=None,
        max_mem_per_node=8000,
        qos_mem=None,
        node_mem=21694,
    )
    assert facts.cap_mb(1) == 8000
    assert fake.commands("sacctmgr") == []  # QoS=N/A: no accounting query


def test_partition_info_with_per_cpu_limits_and_qos(fake_slurm):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "gpu"): canned(
                "scontrol_partition_gpu_qos.txt"
            ),
            ("scontrol", "-o", "node", "gpu[01-02]"): canned("scontrol_nodes_gpu.txt"),
            ("sacctmgr", "show", "qos", "name=gpu_limit", "format=MaxTRES", "-P"): (
                canned("sacctmgr_qos_maxtres.txt")
            ),
        }
    )
    facts = partition_info("gpu")
    assert facts.def_mem_per_cpu == 3800
    assert facts.max_mem_per_cpu == 7600
    assert facts.max_mem_per_node is None
    assert facts.qos_mem == 240 * 1024
    assert facts.node_mem == 257000  # the smallest node
    assert facts.cap_mb(4) == 240 * 1024
    [query] = fake.commands("sacctmgr")
    assert "name=gpu_limit" in query  # the QoS name is one argv item


def test_partition_info_of_qos_without_memory_limit(fake_slurm):
    fake_slurm(
        {
            ("scontrol", "-o", "partition", "gpu"): canned(
                "scontrol_partition_gpu_qos.txt"
            ),
            ("scontrol", "-o", "node"): canned("scontrol_nodes_gpu.txt"),
            ("sacctmgr", "name=gpu_limit"): canned("sacctmgr_qos_no_mem.txt"),
        }
    )
    facts = partition_info("gpu")
    assert facts.qos_mem is None
    assert facts.cap_mb(2) == 2 * 7600


def test_partition_info_with_unlimited_node_memory_uses_real_memory(fake_slurm):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "E880"): canned(
                "scontrol_partition_unlimited.txt"
            ),
            ("scontrol", "-o", "node", "esi-svhpc[10-11]"): canned(
                "scontrol_nodes_e880.txt"
            ),
        }
    )
    facts = partition_info("E880")
    assert facts.def_mem_per_cpu == 2000
    assert facts.max_mem_per_node is None  # UNLIMITED
    assert facts.node_mem == 990000
    assert facts.cap_mb(8) == 990000
    assert fake.commands("sacctmgr") == []


@pytest.mark.parametrize(
    "error",
    [
        failure(
            ["sacctmgr", "show", "qos", "name=gpu_limit", "format=MaxTRES", "-P"],
            1,
            NO_ACCOUNTING,
        ),
        FileNotFoundError(2, "No such file or directory: 'sacctmgr'"),
    ],
    ids=["no-accounting-daemon", "sacctmgr-missing"],
)
def test_failing_sacctmgr_is_not_an_error(fake_slurm, error):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "gpu"): canned(
                "scontrol_partition_gpu_qos.txt"
            ),
            ("scontrol", "-o", "node"): canned("scontrol_nodes_gpu.txt"),
            ("sacctmgr",): error,
        }
    )
    facts = partition_info("gpu")
    assert len(fake.commands("sacctmgr")) == 1
    assert facts.qos_mem is None
    assert facts.cap_mb(2) == 2 * 7600  # the next rule applies


def test_user_values_are_single_argv_items(fake_slurm):
    name = "8GBS; rm -rf ~"
    fake = fake_slurm({("scontrol", "-o", "partition", name): "PartitionName=x"})
    partition_info(name)
    assert fake.calls == [["scontrol", "-o", "show", "partition", name]]


# -- error paths of slurm_cluster_setup -----------------------------------------------


def test_missing_sinfo_raises_slurm_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # sinfo really is missing
    with pytest.raises(SlurmError) as info:
        slurm_cluster_setup(partition="8GBS", interactive=False)
    host = socket.gethostname()
    assert f"Error fetching SLURM partition setup from node {host}" in str(info.value)
    assert "sinfo" in str(info.value)  # the reason
    assert info.value.argv[0] == "sinfo"
    assert info.value.returncode is None  # it never ran


def test_sinfo_runs_first_whatever_the_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SlurmError, match="Error fetching SLURM partition setup"):
        slurm_cluster_setup(
            partition=3,
            n_workers=0,
            mem_per_worker="lots",
            job_extra="--no-list",
            interactive="no",
        )


def test_failing_sinfo_reports_its_stderr(fake_slurm):
    argv = ["sinfo", "-h", "-o", "%P"]
    fake_slurm({("sinfo",): failure(argv, 1, CONTROLLER_DOWN + "\n")})
    with pytest.raises(SlurmError) as info:
        slurm_cluster_setup(partition="8GBS", interactive=False)
    host = socket.gethostname()
    message = str(info.value)
    assert f"Error fetching SLURM partition setup from node {host}: " in message
    assert CONTROLLER_DOWN in message
    assert info.value.argv == argv
    assert info.value.returncode == 1
    assert info.value.stderr.strip() == CONTROLLER_DOWN


def test_failing_scontrol_raises_slurm_error(fake_slurm):
    argv = ["scontrol", "-o", "show", "partition", "8GBS"]
    stderr = "slurm_load_partitions: Socket timed out on send/recv operation\n"
    fake = fake_slurm(
        {
            ("sinfo",): canned("sinfo_partitions.txt"),
            ("scontrol", "partition"): failure(argv, 1, stderr),
        }
    )
    with pytest.raises(SlurmError) as info:
        slurm_cluster_setup(partition="8GBS", n_workers=1, interactive=False)
    assert "Cannot fetch available memory per CPU in SLURM" in str(info.value)
    assert info.value.argv == argv
    assert info.value.returncode == 1
    assert info.value.stderr == stderr
    assert fake.commands("sacctmgr") == []


def test_failing_scontrol_with_given_partitions(fake_slurm):
    argv = ["scontrol", "-o", "show", "partition", "big"]
    fake = fake_slurm({("scontrol",): failure(argv, 1, "Invalid partition name")})
    with pytest.raises(SlurmError, match="Cannot fetch available memory per CPU"):
        slurm_cluster_setup(partition="big", avail_partitions=["big"])
    assert fake.commands("sinfo") == []  # avail_partitions replaces sinfo


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
