"""The benchmark workloads, one class each, for three kinds of implementation.

Every workload can run as

* ``acme``: ``acme.ParallelMap`` -- whichever ``acme`` this interpreter imports
  (this project, or esi-acme in its own virtual environment), attached to the
  running dask client;
* ``dask``: raw dask on the same client -- shared arguments sent once with
  ``client.scatter(..., broadcast=True)``, then ``client.map(..., pure=False)``
  and ``client.gather``;
* ``joblib``: ``joblib.Parallel(n_jobs=2)`` with loky.

Results on disk: acme writes its default HDF5 layout; the baselines do the fair
equivalent, one small h5py file per call written by the worker, read back by the
caller. Every run's result is checked (`Workload.check`) outside the timer.

The task functions live at module level so that workers import them by name.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: the kinds of implementation a workload runs as
KINDS = ("acme", "dask", "joblib")

#: joblib's loky workers stay up between runs, like the warm dask cluster
LOKY_IDLE_TIMEOUT_S = 3600

Y, Z = 2, 3  # the shared scalars of f(x, y, z)
ROW_WIDTH = 125_000  # float64 values per call of array-h5-stack: 1 MB
LARGE_ARG_SHAPE = (100, 62_500)  # float64: 50 MB
NAP_S = 0.25


class CheckError(AssertionError):
    """A run returned wrong results."""


# --- task functions (run on the workers) --------------------------------------


def f(x: int, y: int, z: int) -> int:
    """Return ``(x + y) * z``: the cheap call of tiny-mem and tiny-h5."""
    return (x + y) * z


def write_h5(path: str, value: Any) -> str:
    """Write ``value`` as dataset ``result_0`` of a new HDF5 file ``path``."""
    with h5py.File(path, "w") as h5:
        h5.create_dataset("result_0", data=value)
    return path


def f_h5(x: int, path: str, y: int, z: int) -> str:
    """Compute `f` and write ``[result]`` to ``path`` (baselines of tiny-h5)."""
    return write_h5(path, np.array([f(x, y, z)]))


def row(i: int, width: int) -> np.ndarray:
    """Return row ``i`` of the stack: ``i + arange(width) / width`` (float64)."""
    return i + np.arange(width, dtype=np.float64) / width


def row_h5(i: int, path: str, width: int) -> str:
    """Compute `row` and write it to ``path`` (baselines of array-h5-stack)."""
    return write_h5(path, row(i, width))


def nap(i: int, seconds: float) -> int:
    """Sleep ``seconds`` and return ``i``."""
    time.sleep(seconds)
    return i


def row_sum(i: int, arr: np.ndarray) -> float:
    """Return the sum of row ``i`` of the large shared array."""
    return float(arr[i].sum())


# --- running --------------------------------------------------------------------


@dataclass
class Context:
    """What a run needs besides its inputs.

    Attributes
    ----------
    client : distributed.Client or None
        The warm client (acme attaches to it as the default client); None for
        joblib.
    scratch : pathlib.Path
        A fresh, empty folder for this run's files.
    partition : str
        Passed to ``ParallelMap`` (ignored when attaching; esi-acme validates it
        on hosts where ``sinfo`` exists).
    """

    client: Any
    scratch: Path
    partition: str = "auto"


@dataclass
class Inputs:
    """The arguments of one workload size, built once and reused by every run.

    Attributes
    ----------
    calls : int
        Number of calls.
    items : list
        The per-call argument (one element per call).
    shared : dict
        Arguments every call receives, by parameter name.
    expected : object
        What the run must return (see `Workload.check`).
    """

    calls: int
    items: list[int]
    shared: dict[str, Any] = field(default_factory=dict)
    expected: Any = None


def _parallel_map(
    func: Callable[..., Any], inputs: Inputs, ctx: Context, **kw: Any
) -> Any:
    """Construct and compute ``acme.ParallelMap`` (both inside the timer)."""
    from acme import ParallelMap

    args = list(inputs.shared.values())
    with ParallelMap(
        func, inputs.items, *args, verbose=False, partition=ctx.partition, **kw
    ) as pmap:
        return pmap.compute()


def _dask_map(
    func: Callable[..., Any], inputs: Inputs, ctx: Context, *per_call: Sequence[Any]
) -> list[Any]:
    """Scatter the shared arguments, map ``func`` and gather (raw dask)."""
    client = ctx.client
    names = list(inputs.shared)
    # hash=False: fresh keys every run, so no run waits on the release of the last
    futures = client.scatter(list(inputs.shared.values()), broadcast=True, hash=False)
    shared = dict(zip(names, futures, strict=True))
    mapped = client.map(func, inputs.items, *per_call, pure=False, **shared)
    results: list[Any] = client.gather(mapped)
    del mapped, futures, shared
    return results


def _joblib_map(
    func: Callable[..., Any], inputs: Inputs, *per_call: Sequence[Any]
) -> list[Any]:
    """Run ``func`` over the items with ``joblib.Parallel(n_jobs=2)`` (loky)."""
    from joblib import Parallel, delayed

    parallel = Parallel(
        n_jobs=2, backend="loky", idle_worker_timeout=LOKY_IDLE_TIMEOUT_S
    )
    calls = zip(inputs.items, *per_call, strict=True)
    results: list[Any] = parallel(
        delayed(func)(*args, **inputs.shared) for args in calls
    )
    return results


def _paths(ctx: Context, stem: str, calls: int) -> list[str]:
    """Return the per-call file names of a baseline, ``<scratch>/<stem>_<i>.h5``."""
    return [str(ctx.scratch / f"{stem}_{i}.h5") for i in range(calls)]


def _read_h5(paths: Sequence[str]) -> list[np.ndarray]:
    """Read dataset ``result_0`` of every file."""
    values = []
    for path in paths:
        with h5py.File(path, "r") as h5:
            values.append(h5["result_0"][()])
    return values


def _container(ctx: Context, func: Callable[..., Any]) -> Path:
    """Return acme's container ``<output_dir>/<func>.h5`` of this run."""
    return ctx.scratch / "acme" / f"{func.__name__}.h5"


class Workload(ABC):
    """A benchmark workload: inputs, one runner per kind, a check.

    Subclasses set the class attributes and implement the methods; the runner
    methods return what the caller ends up with (values in memory, or what it
    read back from the files).
    """

    #: name used on the command line and in the results
    name: str = ""
    #: numbers of calls of a full run and of ``--quick``
    sizes: tuple[int, ...] = ()
    quick_sizes: tuple[int, ...] = ()
    #: one line for the README and the summary
    description: str = ""

    @abstractmethod
    def prepare(self, calls: int) -> Inputs:
        """Build the inputs (and the expected results) for ``calls`` calls."""

    @abstractmethod
    def acme(self, inputs: Inputs, ctx: Context) -> Any:
        """Run with ``ParallelMap``."""

    @abstractmethod
    def dask(self, inputs: Inputs, ctx: Context) -> Any:
        """Run with raw dask."""

    @abstractmethod
    def joblib(self, inputs: Inputs, ctx: Context) -> Any:
        """Run with joblib."""

    def run(self, kind: str, inputs: Inputs, ctx: Context) -> Any:
        """Run as ``kind`` (one of `KINDS`)."""
        runners: dict[str, Callable[[Inputs, Context], Any]] = {
            "acme": self.acme,
            "dask": self.dask,
            "joblib": self.joblib,
        }
        return runners[kind](inputs, ctx)

    def check(self, inputs: Inputs, result: Any) -> None:
        """Raise `CheckError` unless ``result`` equals ``inputs.expected``."""
        values = [_scalar(value) for value in result]
        if values != inputs.expected:
            raise CheckError(
                f"{self.name}: {_first_difference(values, inputs.expected)}"
            )

    def ideal_s(self, calls: int, workers: int = 2) -> float | None:
        """Return the ideal wall time if one is known (None otherwise)."""
        return None


def _scalar(value: Any) -> Any:
    """Unwrap a one-element array (as read from HDF5) into a Python number."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise CheckError(f"expected one value, got shape {value.shape}")
        return value.reshape(()).item()
    return value.item() if isinstance(value, np.generic) else value


def _first_difference(got: Sequence[Any], expected: Sequence[Any]) -> str:
    """Describe where two result lists differ."""
    if len(got) != len(expected):
        return f"{len(got)} results, expected {len(expected)}"
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        if a != b:
            return f"result {i} is {a!r}, expected {b!r}"
    return "results differ"


class InMemory(Workload):
    """A workload whose calls of ``func`` return their results to the caller."""

    func: Callable[..., Any]

    def acme(self, inputs: Inputs, ctx: Context) -> Any:
        return _parallel_map(self.func, inputs, ctx, write_worker_results=False)

    def dask(self, inputs: Inputs, ctx: Context) -> Any:
        return _dask_map(self.func, inputs, ctx)

    def joblib(self, inputs: Inputs, ctx: Context) -> Any:
        return _joblib_map(self.func, inputs)


class TinyMem(InMemory):
    """``f(x, y, z) = (x + y) * z`` per element of ``x``, results in memory."""

    name = "tiny-mem"
    sizes: tuple[int, ...] = (2_000, 20_000, 100_000)
    quick_sizes: tuple[int, ...] = (100, 400, 1_000)
    description = "N cheap calls (x + y) * z, y and z shared scalars, results in memory"

    def prepare(self, calls: int) -> Inputs:
        items = list(range(calls))
        expected = [f(x, Y, Z) for x in items]
        return Inputs(calls, items, {"y": Y, "z": Z}, expected)

    func = staticmethod(f)


class TinyH5(TinyMem):
    """The calls of tiny-mem, each result written to HDF5 and read back."""

    name = "tiny-h5"
    sizes = (500, 5_000)
    quick_sizes = (50, 200)
    description = (
        "the tiny calls, results in HDF5: acme's default layout read back through "
        "the container; baselines write one h5 file per call, the caller reads them"
    )

    def acme(self, inputs: Inputs, ctx: Context) -> Any:
        _parallel_map(f, inputs, ctx, output_dir=str(ctx.scratch / "acme"))
        with h5py.File(_container(ctx, f), "r") as h5:
            return [h5[f"comp_{i}"]["result_0"][()] for i in range(inputs.calls)]

    def dask(self, inputs: Inputs, ctx: Context) -> Any:
        paths = _paths(ctx, "f", inputs.calls)
        return _read_h5(_dask_map(f_h5, inputs, ctx, paths))

    def joblib(self, inputs: Inputs, ctx: Context) -> Any:
        paths = _paths(ctx, "f", inputs.calls)
        return _read_h5(_joblib_map(f_h5, inputs, paths))


class ArrayH5Stack(Workload):
    """Each call returns 1 MB of float64; the caller gets them as one array."""

    name = "array-h5-stack"
    sizes = (200,)
    quick_sizes = (10,)
    description = (
        "each call returns 125,000 float64 (1 MB); acme stacks them with "
        "result_shape=(None, 125000) and the caller reads result_0 of the "
        "container; baselines write one h5 file per call, the caller stacks them"
    )

    def prepare(self, calls: int) -> Inputs:
        return Inputs(calls, list(range(calls)), {"width": ROW_WIDTH})

    def acme(self, inputs: Inputs, ctx: Context) -> Any:
        _parallel_map(
            row,
            inputs,
            ctx,
            result_shape=(None, ROW_WIDTH),
            output_dir=str(ctx.scratch / "acme"),
        )
        with h5py.File(_container(ctx, row), "r") as h5:
            return h5["result_0"][()]

    def dask(self, inputs: Inputs, ctx: Context) -> Any:
        paths = _paths(ctx, "row", inputs.calls)
        return _stack(_dask_map(row_h5, inputs, ctx, paths))

    def joblib(self, inputs: Inputs, ctx: Context) -> Any:
        paths = _paths(ctx, "row", inputs.calls)
        return _stack(_joblib_map(row_h5, inputs, paths))

    def check(self, inputs: Inputs, result: Any) -> None:
        expected_shape = (inputs.calls, ROW_WIDTH)
        if not isinstance(result, np.ndarray) or result.shape != expected_shape:
            shape = getattr(result, "shape", type(result).__name__)
            raise CheckError(f"{self.name}: got {shape}, expected {expected_shape}")
        if result.dtype != np.float64:
            raise CheckError(f"{self.name}: dtype {result.dtype}, expected float64")
        for i in range(inputs.calls):  # row by row: no second 200 MB array
            if not np.array_equal(result[i], row(i, ROW_WIDTH)):
                raise CheckError(f"{self.name}: row {i} differs")


def _stack(paths: Sequence[str]) -> np.ndarray:
    """Read ``result_0`` of every file into one preallocated array."""
    out = np.empty((len(paths), ROW_WIDTH), dtype=np.float64)
    for i, path in enumerate(paths):
        with h5py.File(path, "r") as h5:
            h5["result_0"].read_direct(out, dest_sel=np.s_[i])
    return out


class Sleep(InMemory):
    """Calls that only sleep: scheduling and dispatch, no CPU."""

    name = "sleep"
    sizes = (40,)
    quick_sizes = (8,)
    description = f"N calls of time.sleep({NAP_S}) on 2 workers, results in memory"

    def prepare(self, calls: int) -> Inputs:
        items = list(range(calls))
        return Inputs(calls, items, {"seconds": NAP_S}, items)

    func = staticmethod(nap)

    def ideal_s(self, calls: int, workers: int = 2) -> float | None:
        return -(-calls // workers) * NAP_S


class LargeArg(InMemory):
    """One 50 MB array shared by every call; small results in memory."""

    name = "large-arg"
    sizes = (100,)
    quick_sizes = (10,)
    description = (
        "one 50 MB float64 array shared by N calls, call i returns the sum of "
        "row i, in memory (raw dask: scatter(broadcast=True) + map + gather)"
    )

    def prepare(self, calls: int) -> Inputs:
        rows = max(calls, LARGE_ARG_SHAPE[0])
        arr = np.random.default_rng(0).random((rows, LARGE_ARG_SHAPE[1]))
        expected = arr[:calls].sum(axis=1)
        return Inputs(calls, list(range(calls)), {"arr": arr}, expected)

    func = staticmethod(row_sum)

    def check(self, inputs: Inputs, result: Any) -> None:
        values = np.array([_scalar(value) for value in result], dtype=np.float64)
        if values.shape != inputs.expected.shape or not np.allclose(
            values, inputs.expected, rtol=1e-12, atol=0.0
        ):
            raise CheckError(f"{self.name}: the row sums differ")


#: every warm workload, by name, in the order they run
WORKLOADS: dict[str, Workload] = {
    w.name: w for w in (TinyMem(), TinyH5(), ArrayH5Stack(), Sleep(), LargeArg())
}
