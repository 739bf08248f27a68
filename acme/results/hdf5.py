"""HDF5 results: one file per call linked into a container, or one shared file.

Per-call datasets hold the return value's elements; with ``result_shape`` element
0 is stacked. Per-call files are written atomically; the single file is written in place
under a ``distributed.Lock`` named after its path.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import ANNOUNCE, get_logger
from .._settings import Stacking
from ._files import atomic_path
from .memory import check_slot, split_result
from .pickles import write_pickle

__all__ = [
    "NoHdf5EquivalentError",
    "PerCallSink",
    "SingleFileSink",
    "create_single_file",
]

logger = get_logger(__name__)


class NoHdf5EquivalentError(TypeError):
    """A value has no native HDF5 representation."""


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | complex | np.number | np.bool_)


def _storable(value: Any) -> Any:
    """``value`` as data h5py can write, or raise :class:`NoHdf5EquivalentError`."""
    import h5py

    if isinstance(value, str):
        return np.array(value, dtype=h5py.string_dtype())
    array = np.asarray(value)
    if array.dtype.kind == "U":
        return array.astype(h5py.string_dtype())
    if array.dtype.kind == "O" or array.dtype.hasobject:
        raise NoHdf5EquivalentError(
            f"{type(value).__name__} has no native HDF5 equivalent"
        )
    return array


def datasets_of(value: Any, split_all: bool) -> list[Any]:
    """The ``result_k`` datasets of a return value."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not split_all and all(_is_scalar(v) for v in values):
        if any(isinstance(v, str) for v in values):
            values = [str(v) for v in values]
        return [_storable(values)]
    return [_storable(v) for v in values]


def _replace(group: Any, name: str, data: Any) -> None:
    if name in group:
        del group[name]
    group.create_dataset(name, data=data)


def fit_slot(index: int, value: Any, slot: tuple[int, ...]) -> np.ndarray:
    """``value`` as an array of the slot's shape (``-1``: keep the value's extent)."""
    array = np.asarray(value)
    extent = [
        array.shape[k] if size == -1 and k < array.ndim else max(size, 1)
        for k, size in enumerate(slot)
    ]
    target = tuple(e if s == -1 else s for e, s in zip(extent, slot, strict=True))
    check_slot(index, array, target)
    return array if array.shape == target else np.broadcast_to(array, target)


@dataclass(frozen=True, slots=True)
class PerCallSink:
    """``<dir>/<f>_payload/<f>_<i>.h5`` per call, collected by ``<dir>/<f>.h5``."""

    folder: str
    name: str
    n_inputs: int
    stacking: Stacking | None

    @property
    def payload(self) -> Path:
        """The folder holding the per-call files."""
        return Path(self.folder) / f"{self.name}_payload"

    @property
    def container(self) -> Path:
        """The container file."""
        return Path(self.folder) / f"{self.name}.h5"

    def path(self, index: int) -> Path:
        """HDF5 result file of call ``index``."""
        return self.payload / f"{self.name}_{index}.h5"

    def store(self, index: int, value: Any) -> Any:
        """Write call ``index``'s file; pickle the value if HDF5 cannot hold it."""
        import h5py

        if self.stacking is not None:
            first, extras = split_result(value)
            slot = fit_slot(index, first, self.stacking.slot)
        try:
            if self.stacking is not None:
                data = [slot, *(_storable(extra) for extra in extras)]
            else:
                data = datasets_of(value, split_all=False)
            with atomic_path(self.path(index)) as temporary:
                with h5py.File(temporary, "w") as h5:
                    for k, dataset in enumerate(data):
                        h5.create_dataset(f"result_{k}", data=dataset)
        except TypeError:
            # no HDF5 equivalent (ours or h5py's "No conversion path"): pickle it
            target = self.path(index).with_suffix(".pickle")
            write_pickle(target, [value])
            return str(target)
        return str(self.path(index))

    def finalize(self, values: Sequence[Any]) -> Any:
        """Build the container, or move everything up if some calls were pickled."""
        pickled = [v for v in values if v.endswith(".pickle")]
        for path in pickled:
            logger.warning(
                "HDF5 cannot hold the result in %s: results have been pickled instead",
                Path(path).name,
            )
        if pickled:
            return self._move_up(values)
        build_container(self.container, self.name, self.n_inputs, self.stacking)
        logger.log(ANNOUNCE, "SUCCESS!")
        logger.info("Results have been saved to %s", self.container)
        return list(values)

    def _move_up(self, values: Sequence[Any]) -> list[str]:
        logger.warning(
            "Removing %s: some results were pickled, so it would hold dangling links",
            self.container,
        )
        self.container.unlink(missing_ok=True)
        moved = []
        for value in values:
            target = Path(self.folder) / Path(value).name
            shutil.move(value, target)
            moved.append(str(target))
        shutil.rmtree(self.payload)
        logger.info("Results have been saved to %s", self.folder)
        return moved

    def results_container(self) -> str | None:
        """The container, while it exists."""
        return str(self.container) if self.container.exists() else None

    def local(self) -> PerCallSink:
        """The same sink (no lock to replace)."""
        return self


def build_container(
    container: Path, name: str, n_inputs: int, stacking: Stacking | None
) -> None:
    """(Re)write the container atomically: links, or a virtual dataset and extras."""
    import h5py

    with atomic_path(container) as temporary, h5py.File(temporary, "w") as h5:
        if stacking is None:
            for i in range(n_inputs):
                h5[f"comp_{i}"] = h5py.ExternalLink(_relative(name, i), "/")
            return
        _virtual_dataset(h5, container.parent, name, n_inputs, stacking)


def _relative(name: str, index: int) -> str:
    return f"{name}_payload/{name}_{index}.h5"


def _file_info(
    folder: Path, name: str, index: int
) -> tuple[tuple[int, ...], int] | None:
    """Shape of ``result_0`` and number of datasets of a per-call file, if present."""
    import h5py

    path = folder / _relative(name, index)
    if not path.exists():
        return None
    with h5py.File(path, "r") as h5:
        return tuple(h5["result_0"].shape), len(h5)


def _virtual_dataset(
    h5: Any, folder: Path, name: str, n_inputs: int, stacking: Stacking
) -> None:
    import h5py

    info = [_file_info(folder, name, i) for i in range(n_inputs)]
    shape = list(stacking.normalised(n_inputs))
    inf_axis = next((k for k, s in enumerate(shape) if np.isinf(s)), None)
    slot_axes = [k for k in range(len(shape)) if k != stacking.axis]
    if inf_axis is not None:
        position = slot_axes.index(inf_axis)
        shape[inf_axis] = max((i[0][position] for i in info if i), default=1)
    maxshape = tuple(None if k == inf_axis else int(s) for k, s in enumerate(shape))
    layout = h5py.VirtualLayout(
        shape=tuple(int(s) for s in shape), dtype=stacking.dtype, maxshape=maxshape
    )
    for i, item in enumerate(info):
        if item is None and inf_axis is not None:
            continue  # its extent is unknown until the file exists
        source_shape = item[0] if item is not None else stacking.slot
        source = h5py.VirtualSource(_relative(name, i), "result_0", shape=source_shape)
        index: list[Any] = [slice(None)] * len(shape)
        index[stacking.axis] = i
        if inf_axis is not None:
            index[inf_axis] = slice(0, source_shape[slot_axes.index(inf_axis)])
        layout[tuple(index)] = source
    h5.create_virtual_dataset("result_0", layout, fillvalue=0)
    for i, item in enumerate(info):
        for k in range(1, item[1] if item else 0):
            group = h5.require_group(f"comp_{i}")
            group[f"result_{k}"] = h5py.ExternalLink(_relative(name, i), f"/result_{k}")


def lock_name(path: Path) -> str:
    """Name of the distributed lock guarding a single result file."""
    return "acme-" + hashlib.sha256(str(path).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class SingleFileSink:
    """All calls write into ``<dir>/<f>.h5`` under a lock."""

    folder: str
    name: str
    n_inputs: int
    stacking: Stacking | None
    thread_lock: threading.Lock | None = field(default=None, compare=False)

    @property
    def container(self) -> Path:
        """The single result file."""
        return Path(self.folder) / f"{self.name}.h5"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self.thread_lock is not None:
            with self.thread_lock:
                yield
            return
        from distributed import Lock

        with Lock(lock_name(self.container)):
            yield

    def store(self, index: int, value: Any) -> Any:
        """Write call ``index``'s datasets into the file (replacing old ones)."""
        import h5py

        slot, axis = None, 0
        if self.stacking is not None:
            first, extras = split_result(value)
            slot, axis = fit_slot(index, first, self.stacking.slot), self.stacking.axis
            data = [_storable(extra) for extra in extras]
        else:
            data = datasets_of(value, split_all=False)
        with self._locked(), h5py.File(self.container, "r+") as h5:
            group = h5.require_group(f"comp_{index}") if data or slot is None else None
            if group is not None:
                for key in list(group):
                    del group[key]
            if slot is not None:
                _write_slot(h5["result_0"], index, slot, axis)
            for k, dataset in enumerate(data, start=0 if slot is None else 1):
                _replace(group, f"result_{k}", dataset)
        return str(self.container)

    def finalize(self, values: Sequence[Any]) -> Any:
        """``[<dir>/<f>.h5]``."""
        logger.log(ANNOUNCE, "SUCCESS!")
        logger.info("Results have been saved to %s", self.container)
        return [str(self.container)]

    def results_container(self) -> str | None:
        """The single file."""
        return str(self.container)

    def local(self) -> SingleFileSink:
        """A copy guarded by a process-local lock (debug mode)."""
        return SingleFileSink(
            self.folder, self.name, self.n_inputs, self.stacking, threading.Lock()
        )


def _write_slot(dataset: Any, index: int, slot: np.ndarray, axis: int) -> None:
    """Write call ``index``'s slot, growing an unlimited (``inf``) axis as needed."""
    where: list[Any] = [slice(None)] * dataset.ndim
    where[axis] = index
    slot_axes = [k for k in range(dataset.ndim) if k != axis]
    for position, growing in enumerate(slot_axes):
        if dataset.maxshape[growing] is None:
            extent = slot.shape[position]
            if dataset.shape[growing] < extent:
                dataset.resize(extent, axis=growing)
            where[growing] = slice(0, extent)
    dataset[tuple(where)] = slot


def create_single_file(path: Path, n_inputs: int, stacking: Stacking | None) -> None:
    """The single result file with empty groups, or the stacked dataset."""
    import h5py

    with atomic_path(path) as temporary, h5py.File(temporary, "w") as h5:
        if stacking is None:
            for i in range(n_inputs):
                h5.create_group(f"comp_{i}")
            return
        shape = stacking.normalised(n_inputs)
        h5.create_dataset(
            "result_0",
            shape=tuple(1 if np.isinf(s) else int(s) for s in shape),
            maxshape=tuple(None if np.isinf(s) else int(s) for s in shape),
            dtype=stacking.dtype,
            chunks=True if any(np.isinf(s) for s in shape) else None,
        )
