"""TLS for the clusters acme starts: temporary credentials, created per cluster.

``acme.security``: ``auto`` (default) uses TLS when the ``cryptography`` package
is installed and falls back to plain TCP with a WARNING otherwise; ``tls``
requires TLS; ``none`` uses plain TCP. The credentials are a fresh self-signed
certificate (an EC P-256 key: milliseconds to make) that scheduler, workers and
client share and require of each other, so no process without them can connect.
A short-lived child process makes them (:func:`prepare_credentials`) while this
one imports ``distributed``; it hands them over on a pipe.

A local cluster keeps them in memory (its worker processes get them from their
nannies). SLURM workers on other nodes read theirs from files in a directory of
its own (mode 0700, files 0600) below ``~/.acme/credentials``, or below
``jobqueue.slurm.shared-temp-directory`` when that is set. The directory is
removed when the cluster is shut down, at interpreter exit, and, if the process
was killed, by the next cluster acme starts on the same host.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dask

from .. import config
from .._checks import must_be
from .._logging import get_logger
from ..errors import AcmeValueError
from . import _keygen

if TYPE_CHECKING:
    from distributed.security import Security

__all__ = [
    "cluster_security",
    "forget_credentials",
    "keep_credentials",
    "prepare_credentials",
    "remove_credentials",
    "tunnel_hint",
]

logger = get_logger(__name__)
_MODES = ("auto", "tls", "none")
_ROLES = ("client", "scheduler", "worker")
_EXPOSED = (
    "the cluster listens on plain TCP: any process that can reach its ports, "
    "such as other users of this machine, can run code as you on it"
)
_CHILD_TIMEOUT = 30.0  # seconds the credentials' child may take
_pending: subprocess.Popen[bytes] | None = None  # see prepare_credentials
_pending_lock = threading.Lock()
_removers: weakref.WeakKeyDictionary[Any, weakref.finalize[Any, Any]] = (
    weakref.WeakKeyDictionary()
)


def _mode() -> str:
    mode = config.get("security")
    # DASK_ACME__SECURITY=none and a YAML null or false arrive as None/False
    if mode is None or mode is False:
        return "none"
    if mode not in _MODES:
        allowed = "'auto', 'tls' or 'none'"
        raise AcmeValueError(must_be("config `acme.security`", allowed, mode))
    return str(mode)


def prepare_credentials() -> None:
    """Start making the next cluster's credentials in a child process.

    Called before ``distributed`` is imported, the child (``_keygen.py``) works
    on the other core meanwhile, and this process never imports
    ``cryptography`` (about 70 ms and 14 MiB). Nothing happens with
    ``acme.security: none``, when ``cryptography`` is loaded here already, or
    when a child is already at work.
    """
    global _pending
    if _mode() == "none" or "cryptography" in sys.modules:
        return
    with _pending_lock:
        if _pending is not None:
            return
        try:
            _pending = subprocess.Popen(
                [sys.executable, _keygen.__file__],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:  # no usable interpreter: _credentials makes them here
            pass


def _credentials() -> tuple[str, str] | None:
    """A new key and certificate: the child's, else made in this process."""
    global _pending
    with _pending_lock:
        child, _pending = _pending, None
    if child is not None:
        try:
            printed, _ = child.communicate(timeout=_CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
        else:
            pem = _keygen.split(printed.decode()) if child.returncode == 0 else None
            if pem is not None:
                return pem
    return _keygen.make()


def cluster_security(on_slurm: bool) -> tuple[Security | None, Path | None]:
    """TLS settings for a new cluster by ``acme.security``, and their folder.

    For SLURM the workers' credentials are files in the returned folder; hand
    it to :func:`keep_credentials` with the cluster, or remove it if the start
    fails. (None, None): plain TCP.
    """
    mode = _mode()
    if mode == "none":
        return None, None
    pem = _credentials()
    if pem is None:
        if mode == "tls":
            raise AcmeValueError(
                "config `acme.security` is 'tls', but the `cryptography` package "
                "that makes the credentials is not installed"
            )
        logger.warning("The `cryptography` package is not installed: %s", _EXPOSED)
        return None, None
    from distributed.security import Security  # lazy: not at import

    key, certificate = pem
    fields = {f"tls_{role}_key": key for role in _ROLES}
    fields.update({f"tls_{role}_cert": certificate for role in _ROLES})
    folder = None
    if on_slurm:
        folder = _new_folder()
        for name, text in (("ca.pem", certificate), ("worker.key", key)):
            _write_private(folder / name, text)
        fields.update(
            tls_worker_key=str(folder / "worker.key"),
            tls_worker_cert=str(folder / "ca.pem"),
        )
        ca_file = str(folder / "ca.pem")
    else:
        ca_file = certificate
    return Security(require_encryption=True, tls_ca_file=ca_file, **fields), folder


def keep_credentials(cluster: Any, folder: Path | None) -> None:
    """Remove ``folder`` when ``cluster`` is shut down or the interpreter exits."""
    if folder is not None:
        _removers[cluster] = weakref.finalize(cluster, remove_credentials, folder)


def forget_credentials(cluster: Any) -> None:
    """Remove the credentials of ``cluster`` (after it was shut down), if any."""
    remover = _removers.pop(cluster, None)
    if remover is not None:
        remover()


def remove_credentials(folder: Path | None) -> None:
    """Remove a folder of credentials (None: nothing to do)."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _base() -> Path:
    shared = dask.config.get("jobqueue.slurm.shared-temp-directory", None)
    base = Path(os.path.expanduser(os.path.expandvars(shared or "~/.acme")))
    return base / "credentials"


def _new_folder() -> Path:
    """A fresh folder (0700) for one cluster's files; stale ones of this host go."""
    base = _base()
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    host = socket.gethostname()
    for stale in base.glob(f"{host}-*-*"):
        pid = stale.name.removeprefix(f"{host}-").partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            remove_credentials(stale)
    return Path(tempfile.mkdtemp(prefix=f"{host}-{os.getpid()}-", dir=base))  # 0700


def _write_private(path: Path, text: str) -> None:
    """Write a new file that only this user can read (mode 0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def tunnel_hint(link: str) -> None:
    """Log how to open a dashboard from one's own computer (an SSH tunnel)."""
    parts = urlsplit(link)
    if parts.hostname and parts.port:
        logger.info(
            "To view it from your own computer: `ssh -N -L %d:%s:%d <user>@%s`, "
            "then open http://localhost:%d%s",
            parts.port,
            parts.hostname,
            parts.port,
            socket.gethostname(),
            parts.port,
            parts.path,
        )
