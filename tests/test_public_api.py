"""The public surface of acme (the API reference) is a tested contract."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
import textwrap

import psutil
import pytest

import acme
import acme.dask_helpers
import acme.errors
import acme.shared
from acme import errors

PUBLIC = {
    "ACMEdaemon",
    "ParallelMap",
    "bic_cluster_setup",
    "cluster_cleanup",
    "esi_cluster_setup",
    "local_cluster_setup",
    "slurm_cluster_setup",
}
HELPERS = {
    "bic_cluster_setup",
    "cluster_cleanup",
    "esi_cluster_setup",
    "local_cluster_setup",
    "slurm_cluster_setup",
}
SHARED = {
    "get_free_port",
    "get_interface",
    "is_bic_node",
    "is_esi_node",
    "is_slurm_node",
    "is_x86_node",
    "sizeOf",
}


def _public_names(module: object) -> set[str]:
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and name not in {"annotations"}
    }


# -- package surface ------------------------------------------------------------------


def test_all_is_exactly_the_seven_names():
    assert set(acme.__all__) == PUBLIC
    assert len(acme.__all__) == len(PUBLIC)
    for name in acme.__all__:
        assert getattr(acme, name) is not None


def test_version_is_static_and_matches_distribution():
    assert type(acme.__version__) is str
    assert acme.__version__ == "2026.12.0"
    assert acme.__version__ == importlib.metadata.version("esi-acme")


@pytest.mark.parametrize(
    "name",
    [
        "prepare_log",
        "ctrlc_catcher",
        "ACMEConfig",
        "user_yesno",
        "callMax",
        "_scalar_parser",
        "AcmeError",
        "ComputationError",
    ],
)
def test_name_not_provided_at_top_level(name):
    assert not hasattr(acme, name)


@pytest.mark.parametrize("module", ["frontend", "backend", "validators"])
def test_upstream_internal_modules_not_provided(module):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"acme.{module}")


# -- acme.errors ----------------------------------------------------------------------

BASES = [
    ("AcmeError", Exception),
    ("AcmeTypeError", TypeError),
    ("AcmeValueError", ValueError),
    ("BroadcastError", ValueError),
    ("SlurmError", OSError),
    ("OutputError", OSError),
    ("OutputExistsError", FileExistsError),
    ("WorkerStartTimeoutError", TimeoutError),
    ("SetupAbortedError", ConnectionAbortedError),
    ("ComputationError", RuntimeError),
    ("NoWorkersError", RuntimeError),
]


@pytest.mark.parametrize(("name", "builtin"), BASES)
def test_error_class_bases(name, builtin):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.AcmeError)
    assert issubclass(cls, builtin)


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        ("BroadcastError", "AcmeValueError"),
        ("OutputExistsError", "OutputError"),
        ("NoWorkersError", "ComputationError"),
    ],
)
def test_error_class_hierarchy(child, parent):
    assert issubclass(getattr(errors, child), getattr(errors, parent))


def test_errors_module_exports_every_class():
    assert {name for name, _ in BASES} <= set(dir(errors))


def test_builtin_style_except_clauses_catch_acme_errors():
    with pytest.raises(ValueError, match="lengths"):
        raise errors.BroadcastError("lengths disagree")
    with pytest.raises(TypeError, match="bad type"):
        raise errors.AcmeTypeError("bad type")


def test_slurm_error_attributes():
    plain = errors.SlurmError("SLURM unreachable")
    assert (plain.argv, plain.returncode, plain.stderr) == (None, None, None)
    assert str(plain) == "SLURM unreachable"
    failed = errors.SlurmError(
        "sinfo failed", argv=["sinfo", "-h"], returncode=1, stderr="no controller"
    )
    assert failed.argv == ["sinfo", "-h"]
    assert failed.returncode == 1
    assert failed.stderr == "no controller"
    assert str(failed) == "sinfo failed"


def test_output_error_path(tmp_path):
    error = errors.OutputError("cannot write", path=str(tmp_path / "x"))
    assert error.path == str(tmp_path / "x")
    assert str(error) == "cannot write"
    exists = errors.OutputExistsError("holds a run", path=str(tmp_path))
    assert exists.path == str(tmp_path)
    assert isinstance(exists, FileExistsError)


def test_worker_start_timeout_error_attributes():
    error = errors.WorkerStartTimeoutError(
        "too slow", available=1, expected=4, timeout=60
    )
    assert (error.available, error.expected, error.timeout) == (1, 4, 60)
    assert "too slow" in str(error)


def test_computation_error_attributes():
    cause = ZeroDivisionError("division by zero")
    error = errors.ComputationError(
        "failed",
        failed=[3, 1],
        exceptions={1: cause, 3: cause},
        results=[0, None, 2, None],
    )
    assert error.failed == [1, 3]
    assert error.exceptions == {1: cause, 3: cause}
    assert error.results == [0, None, 2, None]


def test_no_workers_error_attributes_are_empty():
    error = errors.NoWorkersError(
        "no active workers found in distributed computing client"
    )
    assert error.failed == []
    assert error.exceptions == {}
    assert error.results == []


# -- compatibility shims --------------------------------------------------------------


def test_dask_helpers_contents():
    assert set(acme.dask_helpers.__all__) == HELPERS
    assert _public_names(acme.dask_helpers) == HELPERS


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_dask_helpers_are_the_public_objects(name):
    assert getattr(acme.dask_helpers, name) is getattr(acme, name)


def test_shared_contents():
    assert set(acme.shared.__all__) == SHARED
    assert _public_names(acme.shared) == SHARED
    for name in SHARED:
        assert callable(getattr(acme.shared, name))


def test_get_free_port_returns_a_bindable_port():
    with socket.socket() as probe:
        probe.bind(("", 0))
        start = probe.getsockname()[1]
    port = acme.shared.get_free_port(start, start + 50)
    assert start <= port <= start + 50
    with socket.socket() as sock:
        sock.bind(("", port))


def test_get_free_port_skips_a_taken_port():
    with socket.socket() as held:
        held.bind(("", 0))
        taken = held.getsockname()[1]
        port = acme.shared.get_free_port(taken, taken + 50)
        assert taken < port <= taken + 50


def test_get_free_port_raises_when_range_is_taken():
    with socket.socket() as held:
        held.bind(("", 0))
        taken = held.getsockname()[1]
        with pytest.raises(OSError):
            acme.shared.get_free_port(taken, taken)


def test_get_interface_finds_loopback():
    name = acme.shared.get_interface("127.0.0.1")
    addresses = [address.address for address in psutil.net_if_addrs()[name]]
    assert "127.0.0.1" in addresses


def test_get_interface_rejects_unknown_address():
    with pytest.raises(ValueError):
        acme.shared.get_interface("no-such-address")


def test_is_x86_node_reports_the_architecture():
    assert acme.shared.is_x86_node() is (platform.machine() == "x86_64")


# -- import has no side effects, checked in a fresh interpreter ----------------------

_PROBE = textwrap.dedent(
    """
    import json, logging, os, sys, warnings

    events, watching = [], []
    WATCHED = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.fork")

    def audit(event, args):
        if watching and event in WATCHED:
            events.append(event)

    sys.addaudithook(audit)

    def snapshot():
        acme_logger = logging.getLogger("ACME")
        return {
            "excepthook": id(sys.excepthook),
            "root_handlers": [id(h) for h in logging.getLogger().handlers],
            "root_level": logging.getLogger().level,
            "acme_handlers": [id(h) for h in acme_logger.handlers],
            "acme_level": acme_logger.level,
            "filters": repr(warnings.filters),
            "level_25": logging.getLevelName(25),
            "announce": hasattr(logging.Logger, "announce"),
            "logger_class": id(logging.getLoggerClass()),
            "files": sorted(os.listdir(".")),
        }

    PRELOAD
    before = snapshot()
    watching.append(True)
    import acme
    IMPORT_ALL
    after = snapshot()
    print(json.dumps({
        "before": before,
        "after": after,
        "modules": [m for m in ("distributed", "dask_jobqueue", "h5py")
                    if m in sys.modules],
        "events": events,
    }))
    """
)
_IMPORT_ALL = (
    "import importlib, pkgutil\n"
    "for info in pkgutil.walk_packages(acme.__path__, 'acme.'):\n"
    "    importlib.import_module(info.name)"
)


# Dependencies may change global state themselves when imported (numpy adds warning
# filters); they are imported before the first snapshot so that only acme is judged.
_DEPENDENCIES = "import dask, dask.config, numpy, psutil, tqdm"
_HEAVY = "import distributed, dask_jobqueue, h5py"


def _probe(tmp_path, import_all: bool) -> dict:
    preload = f"{_DEPENDENCIES}; {_HEAVY}" if import_all else _DEPENDENCIES
    code = _PROBE.replace("PRELOAD", preload)
    code = code.replace("IMPORT_ALL", _IMPORT_ALL if import_all else "")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def import_probe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("import-probe")
    return _probe(folder, import_all=False)


@pytest.mark.parametrize(
    "key",
    [
        "excepthook",
        "root_handlers",
        "root_level",
        "acme_handlers",
        "acme_level",
        "filters",
        "level_25",
        "announce",
        "logger_class",
        "files",
    ],
)
def test_import_leaves_global_state_alone(import_probe, key):
    assert import_probe["after"][key] == import_probe["before"][key]


def test_import_adds_no_level_name(import_probe):
    assert import_probe["after"]["level_25"] == "Level 25"
    assert import_probe["after"]["announce"] is False


def test_import_defers_heavy_dependencies(import_probe):
    assert import_probe["modules"] == []


def test_import_runs_no_subprocess_and_creates_no_files(import_probe):
    assert import_probe["events"] == []
    assert import_probe["after"]["files"] == []


def test_importing_every_module_has_no_side_effects(tmp_path):
    probe = _probe(tmp_path, import_all=True)
    assert probe["after"] == probe["before"]
    assert probe["events"] == []


def test_import_acme_defers_the_heavy_libraries():
    code = (
        "import sys, acme; "
        "print(sorted(m for m in ('dask', 'distributed', 'numpy', 'h5py', 'tqdm') "
        "if m in sys.modules)); "
        "print(acme.ParallelMap.__name__, acme.cluster_cleanup.__name__)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert output == ["[]", "ParallelMap cluster_cleanup"]


def test_a_broken_dependency_is_named_not_hidden(tmp_path):
    """An AttributeError while a public name loads is not "cannot import name"."""
    (tmp_path / "dask.py").write_text("raise AttributeError('broken dask here')\n")
    done = subprocess.run(
        [sys.executable, "-c", "from acme import ParallelMap"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # its dask.py shadows the real one
    )
    assert done.returncode != 0
    assert "ImportError: importing acme.parallel_map failed: broken dask here" in (
        done.stderr
    ), done.stderr


def test_unknown_names_are_attribute_errors_and_dir_lists_the_public_ones():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        acme.nope  # noqa: B018
    assert set(acme.__all__) <= set(dir(acme))
