"""Jupyter interrupt: how long until the cell is back, and what is left running.

A real IPython kernel (``jupyter_client`` + ``ipykernel``) runs a cell whose
``ParallelMap`` starts its own ``LocalCluster`` (2 workers) and computes 8 calls
that sleep 30 s each. Once a call has started (it touches a marker file), the
kernel is interrupted the way Jupyter does it (``interrupt_kernel``: SIGINT to
the kernel's process group, its local workers included). The script measures

* ``seconds``: from the interrupt to the cell's ``execute_reply``;
* ``left``: the kernel's child processes still alive (zombies excluded) when
  the reply arrives, and ``left_1s`` one second later, not counting
  multiprocessing's resource tracker (``tracker``): one idle helper process that
  any use of multiprocessing starts and that ends with the kernel;
* ``error``: the exception the cell ended with (``KeyboardInterrupt`` expected).

Usage::

    python bench/interrupt.py [--esi-python /tmp/esi/bin/python] [--repeats 5] \
        [--out bench/interrupt.jsonl]
    python bench/interrupt.py --report bench/interrupt.jsonl  # the table again

acme runs in this interpreter's environment, esi-acme in ``--esi-python``'s
(which needs ``ipykernel``). Repeats are interleaved. SLURM's commands are
hidden from the kernels' ``PATH``, so that both implementations start a local
cluster on a machine with SLURM installed. One JSON line per repeat goes to
``--out``, a summary (medians) to stdout. Nothing here is part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from measure import path_without_slurm

SETUP_CELL = """
import time
from pathlib import Path
from acme import ParallelMap

def slow(x, marker):
    Path(marker, str(x)).touch()
    time.sleep(30)
    return x
"""

COMPUTE_CELL = """
with ParallelMap(slow, list(range(8)), {marker!r}, n_workers=2,
                 write_worker_results=False, verbose=False) as pmap:
    pmap.compute()
"""


def kernel(python: str, root: Path, env: dict[str, str]) -> KernelManager:
    """A started kernel running ``python -m ipykernel_launcher``."""
    spec_dir = root / "kernels" / "bench"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bench",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(root / "kernels")])
    manager = KernelManager(kernel_name="bench", kernel_spec_manager=specs)
    manager.start_kernel(cwd=str(root), env=env)
    return manager


def reply_to(client: Any, msg_id: str, timeout: float) -> dict[str, Any]:
    """The content of the ``execute_reply`` to request ``msg_id``."""
    reply = client.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=timeout)
    content: dict[str, Any] = reply["content"]
    return content


TRACKER = "multiprocessing.resource_tracker"


def alive(processes: list[psutil.Process]) -> list[str]:
    """Command lines of ``processes`` still running (zombies count as ended)."""
    running = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(" ".join(process.cmdline()))
        except psutil.NoSuchProcess:
            pass
    return running


def counts(processes: list[psutil.Process]) -> tuple[int, int]:
    """(processes left running, of them multiprocessing's resource tracker)."""
    running = alive(processes)
    trackers = sum(TRACKER in line for line in running)
    return len(running) - trackers, trackers


def one_run(impl: str, python: str, path: str) -> dict[str, Any]:
    """Start a kernel, interrupt its compute cell once a call runs, measure."""
    with tempfile.TemporaryDirectory(prefix="acme-bench-interrupt-") as tmp:
        root = Path(tmp)
        marker = root / "started"
        marker.mkdir()
        env = {**os.environ, "PATH": path}
        manager = kernel(python, root, env)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            setup = reply_to(client, client.execute(SETUP_CELL), 60)
            if setup["status"] != "ok":
                return {"impl": impl, "status": "failed", "reason": str(setup)}
            msg_id = client.execute(COMPUTE_CELL.format(marker=str(marker)))
            deadline = time.monotonic() + 120
            while not any(marker.iterdir()):
                if time.monotonic() > deadline:
                    return {"impl": impl, "status": "failed", "reason": "no call ran"}
                time.sleep(0.05)
            kernel_process = psutil.Process(manager.provisioner.pid)  # local kernel
            family = kernel_process.children(recursive=True)
            start = time.perf_counter()
            manager.interrupt_kernel()  # SIGINT to the kernel's process group
            content = reply_to(client, msg_id, 120)
            seconds = time.perf_counter() - start
            left, tracker = counts(family)
            time.sleep(1.0)
            left_1s, _ = counts(family)
            return {
                "impl": impl,
                "status": "ok",
                "seconds": round(seconds, 3),
                "error": content.get("ename"),
                "processes": len(family),
                "left": left,
                "left_1s": left_1s,
                "tracker": tracker,
            }
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)


def summary(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of ``rows``: medians, worst cases, how the cells ended."""
    lines = [
        "| implementation | median s | max s | left at reply (max) "
        "| left 1 s later (max) | cells ended with |",
        "|---|---|---|---|---|---|",
    ]
    for impl in dict.fromkeys(row["impl"] for row in rows):
        ok = [r for r in rows if r["impl"] == impl and r["status"] == "ok"]
        failed = sum(r["impl"] == impl and r["status"] != "ok" for r in rows)
        if not ok:
            lines.append(f"| {impl} | failed | | | | {failed} failed runs |")
            continue
        times = [r["seconds"] for r in ok]
        ends = Counter(str(r["error"]) for r in ok)
        ended = ", ".join(f"{name} x{n}" for name, n in ends.most_common())
        lines.append(
            f"| {impl} | {statistics.median(times):.2f} | {max(times):.2f} | "
            f"{max(r['left'] for r in ok)} | {max(r['left_1s'] for r in ok)} | "
            f"{ended}{f'; {failed} failed runs' if failed else ''} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Interleaved repeats for each implementation; JSON lines and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esi-python", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="bench/interrupt.jsonl")
    parser.add_argument("--report", default=None, help="only summarise this file")
    options = parser.parse_args()
    if options.report:
        lines = Path(options.report).read_text().splitlines()
        print(summary([json.loads(line) for line in lines]))
        return 0
    impls = {"acme": sys.executable}
    if options.esi_python:
        impls["esi-acme"] = options.esi_python
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="acme-bench-path-") as tmp:
        path = path_without_slurm(Path(tmp) / "bin")
        for repeat in range(options.repeats):
            for impl, python in impls.items():
                row = {**one_run(impl, python, path), "repeat": repeat}
                print(json.dumps(row), file=sys.stderr)
                rows.append(row)
    Path(options.out).write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(summary(rows))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
