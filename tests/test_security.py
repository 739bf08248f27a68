"""TLS for the clusters acme starts: others cannot connect, acme's clients can.

Real clusters (a LocalCluster, the project's SLURM) and real connection
attempts; only a missing ``cryptography`` package is simulated.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import dask
import dask_jobqueue  # noqa: F401  (its config defaults, which dask.config.set keeps)
import psutil
import pytest
from distributed import Client
from distributed.security import Security
from slurm_helpers import cluster_job_ids, wait_gone

from acme import ParallelMap, cluster_cleanup, local_cluster_setup, slurm_cluster_setup
from acme.cluster import _keygen, _security
from acme.errors import AcmeValueError


def inc(x):
    return x + 1


def refused(address: str, security: Security | None) -> bool:
    """Whether a client with ``security`` fails to connect to ``address``."""
    try:
        client = Client(address, security=security, timeout=5)
    except (OSError, TimeoutError):
        return True
    client.close()
    return False


def assert_only_acme_gets_in(client) -> None:
    address = client.scheduler.address
    assert address.startswith("tls://")
    # plain TCP, and TLS with credentials of another cluster
    assert refused(address.replace("tls://", "tcp://", 1), None)
    assert refused(address, Security.temporary())
    assert client.submit(abs, -2).result(timeout=60) == 2  # acme's own client


def listening(pids) -> set[str]:
    """Addresses the processes listen on (TCP)."""
    found = set()
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN:
                found.add(conn.laddr.ip)
    return found


def test_local_cluster_refuses_clients_without_its_credentials():
    client = local_cluster_setup(n_workers=2, interactive=False)
    try:
        assert_only_acme_gets_in(client)
        workers = client.run(os.getpid).values()
        # scheduler (this process), nannies and workers: loopback only
        nannies = {psutil.Process(pid).ppid() for pid in workers}
        assert listening([os.getpid(), *workers, *nannies]) <= {"127.0.0.1"}
    finally:
        cluster_cleanup(client)


def test_parallel_maps_own_cluster_uses_tls():
    with ParallelMap(inc, [1, 2], n_workers=1, write_worker_results=False) as pmap:
        assert pmap.client.scheduler.address.startswith("tls://127.0.0.1:")
        assert pmap.compute() == [2, 3]


@pytest.mark.parametrize("setting", ["none", None])  # None: DASK_ACME__SECURITY=none
def test_security_none_is_plain_tcp(setting):
    with dask.config.set({"acme.security": setting}):
        client = local_cluster_setup(n_workers=1, interactive=False)
    try:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    finally:
        cluster_cleanup(client)


def test_a_bad_security_setting_is_refused():
    with (
        dask.config.set({"acme.security": "ssl"}),
        pytest.raises(AcmeValueError, match=r"`acme\.security` has to be 'auto'"),
    ):
        local_cluster_setup(n_workers=1, interactive=False)


STARTS_ITS_OWN_CLUSTER = """
import sys
from acme import ParallelMap

def inc(x):
    return x + 1

if __name__ == "__main__":
    with ParallelMap(inc, [1, 2], n_workers=1, write_worker_results=False) as pmap:
        address = pmap.client.scheduler.address
        values = pmap.compute()
    print(address, values, "cryptography" in sys.modules)
"""


def test_credentials_come_from_a_child_so_the_caller_never_loads_cryptography(
    tmp_path,
):
    script = tmp_path / "own_cluster.py"
    script.write_text(STARTS_ITS_OWN_CLUSTER)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "DASK_ACME__CLUSTER": "local"},
    )
    assert done.returncode == 0, done.stderr
    address, *values, loaded = done.stdout.split()
    assert address.startswith("tls://127.0.0.1:")
    assert " ".join(values) == "[2, 3]"
    assert loaded == "False"


def test_the_childs_credentials_are_a_matching_key_and_certificate(tmp_path):
    printed = subprocess.run(
        [sys.executable, _keygen.__file__], capture_output=True, text=True, check=True
    ).stdout
    key, certificate = _keygen.split(printed)
    (tmp_path / "key.pem").write_text(key)
    (tmp_path / "cert.pem").write_text(certificate)
    context = ssl.create_default_context(cadata=certificate)
    # raises ssl.SSLError if the key is not the certificate's
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    assert _keygen.split(printed.replace("-----END PRIVATE KEY-----", "")) is None


def test_credentials_are_made_here_when_the_child_fails(monkeypatch):
    failing = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    monkeypatch.setattr(_security, "_pending", failing)
    key, certificate = _security._credentials()
    assert "PRIVATE KEY" in key and "CERTIFICATE" in certificate
    assert _security._pending is None  # a child's credentials serve one cluster


def test_each_cluster_gets_new_credentials(monkeypatch):
    # this process has cryptography loaded, so prepare would not start a child
    monkeypatch.delitem(sys.modules, "cryptography", raising=False)
    _security.prepare_credentials()
    assert _security._pending is not None
    first = _security._credentials()
    assert _security._pending is None
    assert first is not None and first != _security._credentials()


@pytest.fixture
def no_cryptography(monkeypatch):
    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)  # import fails


def test_without_cryptography_auto_falls_back_with_a_warning(no_cryptography, acme_log):
    security, folder = _security.cluster_security(on_slurm=True)
    assert (security, folder) == (None, None)
    [warning] = [r for r in acme_log.records if r.levelname == "WARNING"]
    assert "`cryptography` package is not installed" in warning.getMessage()
    assert "other users of this machine, can run code as you" in warning.getMessage()


def test_without_cryptography_tls_is_an_error(no_cryptography):
    with (
        dask.config.set({"acme.security": "tls"}),
        pytest.raises(AcmeValueError, match="`cryptography` package"),
    ):
        _security.cluster_security(on_slurm=False)


def test_credentials_of_killed_processes_are_removed(tmp_path):
    host = socket.gethostname()
    base = tmp_path / "credentials"
    base.mkdir()
    dead = psutil.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live = base / f"{host}-{dead.pid}-abc", base / f"{host}-{os.getpid()}-def"
    other = base / f"another-host-{dead.pid}-ghi"
    for folder in (stale, live, other):
        folder.mkdir()
    with dask.config.set({"jobqueue.slurm.shared-temp-directory": str(tmp_path)}):
        _, folder = _security.cluster_security(on_slurm=True)
    _security.remove_credentials(folder)
    assert not stale.exists()
    assert live.exists() and other.exists()  # alive, or not this host's to judge


def test_slurm_credentials_default_to_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    _, folder = _security.cluster_security(on_slurm=True)
    try:
        assert folder.parent == tmp_path / ".acme" / "credentials"
    finally:
        _security.remove_credentials(folder)
    assert not folder.exists()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slurm
@pytest.mark.usefixtures("no_leftover_jobs")
def test_slurm_cluster_refuses_clients_without_its_credentials(tmp_path, acme_log):
    with dask.config.set({"jobqueue.slurm.shared-temp-directory": str(tmp_path)}):
        client = slurm_cluster_setup(
            partition="debug",
            n_workers=1,
            mem_per_worker="1GB",
            interactive=False,
        )
    try:
        [job] = cluster_job_ids(client.cluster, 1)
        [folder] = (tmp_path / "credentials").iterdir()
        assert mode(folder) == 0o700
        assert {p.name: mode(p) for p in folder.iterdir()} == {
            "ca.pem": 0o600,
            "worker.key": 0o600,
        }
        script = client.cluster.job_script()
        assert f"--tls-key {folder}/worker.key" in script
        assert_only_acme_gets_in(client)
        # the dashboard: through an SSH tunnel from the user's computer
        assert re.search(r"`ssh -N -L (\d+):[^:]+:\1 <user>@[^`]+`", acme_log.text)
    finally:
        cluster_cleanup(client)
    assert not folder.exists()
    assert wait_gone([job]) == []


EXITS_WITHOUT_CLEANUP = """
import sys
import dask
from acme import slurm_cluster_setup

with dask.config.set({"jobqueue.slurm.shared-temp-directory": sys.argv[1]}):
    client = slurm_cluster_setup(
        partition="debug", n_workers=1, mem_per_worker="1GB", interactive=False
    )
print(sorted(job.job_id for job in client.cluster.workers.values())[0], flush=True)
"""


@pytest.mark.slurm
@pytest.mark.usefixtures("no_leftover_jobs")
def test_slurm_credentials_are_removed_at_interpreter_exit(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(EXITS_WITHOUT_CLEANUP)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    job = done.stdout.split()[-1]
    assert list((tmp_path / "credentials").iterdir()) == []
    assert wait_gone([job]) == []
