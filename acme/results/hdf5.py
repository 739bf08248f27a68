"""HDF5 results: one file per call linked into a container, or one shared file.

A call's return value becomes datasets ``result_0``, ``result_1``, ...; with
``result_shape`` element 0 fills the call's slot of one stacked dataset. Per-call
files are written atomically; the single file is written in place while holding
an inter-process file lock, and the manifest says which calls completed.

Over its 300-line guide: two sinks, each with what resume needs (is a recorded
result complete, which results did a dead worker's task already write), and
the container's virtual dataset built from the shapes the workers report.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import ANNOUNCE, get_logger
from .._settings import Stacking
from ._files import Raised, StoredFile, StoresEach, atomic_path, attempt
from ._locks import create_h5, exclusive, open_h5, sidecar
from .layout import OutputLayout
from .memory import Finished, check_slot, split_result
from .pickles import pickle_holds, pickled_file, write_pickle

__all__ = ["NoHdf5EquivalentError", "PerCallSink", "SingleFileSink"]

logger = get_logger(__name__)


class NoHdf5EquivalentError(TypeError):
    """A value has no native HDF5 representation."""


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | complex | np.number | np.bool_)


def _storable(value: Any) -> Any:
    """``value`` as data h5py can write, or raise :class:`NoHdf5EquivalentError`."""
    import h5py  # lazy: import acme must not import h5py

    if isinstance(value, str):
        return np.array(value, dtype=h5py.string_dtype())
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nesting: no rectangular array
        raise NoHdf5EquivalentError(f"{type(value).__name__}: {exc}") from exc
    if array.dtype.kind == "U":
        return array.astype(h5py.string_dtype())
    if array.dtype.kind == "O" or array.dtype.hasobject:
        raise NoHdf5EquivalentError(
            f"{type(value).__name__} has no native HDF5 equivalent"
        )
    return array


def _datasets(value: Any, stacking: Stacking | None, index: int) -> list[Any]:
    """The ``result_k`` datasets of a return value (the slot first when stacking)."""
    if stacking is not None:
        first, extras = split_result(value)
        return [_fit_slot(index, first, stacking.slot), *map(_storable, extras)]
    values = list(value) if isinstance(value, list | tuple) else [value]
    if all(_is_scalar(v) for v in values):
        if any(isinstance(v, str) for v in values):
            values = [str(v) for v in values]
        return [_storable(values)]
    return [_storable(v) for v in values]


def _fit_slot(index: int, value: Any, slot: tuple[int, ...]) -> np.ndarray:
    """``value`` as an array of the slot's shape (``-1``: keep the value's extent)."""
    array = np.asarray(_storable(value))
    extent = [
        array.shape[k] if size == -1 and k < array.ndim else max(size, 1)
        for k, size in enumerate(slot)
    ]
    target = tuple(e if s == -1 else s for e, s in zip(extent, slot, strict=True))
    check_slot(index, array, target)
    return array if array.shape == target else np.broadcast_to(array, target)


def fill_value(dtype: str) -> Any:
    """What a missing or failed call's slot reads as: NaN for inexact types, else 0."""
    return np.nan if np.dtype(dtype).kind in "fc" else 0


def _has(h5: Any, names: Iterable[str]) -> bool:
    return all(name in h5 for name in names)


def _write_file(path: Path, data: Sequence[Any]) -> None:
    """A new HDF5 file holding ``data`` as datasets ``result_0``, ``result_1``, ...

    Numeric arrays (the usual result) go through h5py's low-level calls, which
    write the bytes ``h5py.File`` would in about a quarter less time per small
    file; anything else through ``h5py.File``. OSError if ``path`` exists.
    """
    if not all(_plain(array) for array in data):
        with open_h5(path, "x") as h5:  # "x": never over an existing file
            for k, dataset in enumerate(data):
                h5.create_dataset(f"result_{k}", data=dataset)
        return
    from h5py import h5d, h5s, h5t  # lazy: import acme must not import h5py

    file = create_h5(path)
    try:
        for k, array in enumerate(data):
            contiguous = np.asarray(array, order="C")
            dataset = h5d.create(
                file,
                f"result_{k}".encode(),
                h5t.py_create(contiguous.dtype, logical=True),
                h5s.create_simple(contiguous.shape),
                dcpl=_dataset_plist(),
            )
            dataset.write(h5s.ALL, h5s.ALL, contiguous)
    finally:
        file.close()


def _plain(value: Any) -> bool:
    """A native-order array of booleans or numbers (not strings, not records)."""
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind in "biufc"
        and value.dtype.isnative
        and value.dtype.fields is None
    )


@functools.cache
def _dataset_plist() -> Any:
    """h5py's creation property list of a contiguous dataset (no timestamps)."""
    from h5py import h5p

    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    return dcpl


@dataclass(frozen=True, slots=True)
class PerCallSink(StoresEach):
    """``<dir>/<f>_payload/<f>_<i>.h5`` per call, collected by ``<dir>/<f>.h5``."""

    layout: OutputLayout
    n_calls: int
    stacking: Stacking | None

    def prepare(self) -> list[Path]:
        """Create whatever is missing of folder, payload and container."""
        created = [
            p for p in (self.layout.folder, self.layout.payload) if not p.is_dir()
        ]
        for folder in created:
            folder.mkdir(parents=True)
        if not self.layout.container.exists():
            self._build_container()
            created.append(self.layout.container)
        return created

    def store(self, index: int, value: Any) -> StoredFile:
        """Write call ``index``'s file; pickle the value if HDF5 cannot hold it."""
        target = self.layout.result_file(index)
        try:
            data = _datasets(value, self.stacking, index)
            with atomic_path(target) as temporary:
                _write_file(temporary, data)
        except TypeError:  # ours, or h5py's "No conversion path": pickle it
            return write_pickle(self.layout.emergency_pickle(index), [value])
        names = tuple(f"result_{k}" for k in range(len(data)))
        shape = None if self.stacking is None else tuple(np.shape(data[0]))
        return StoredFile(str(target), names, shape=shape)

    def discard(self, indices: Iterable[int], recorded: Mapping[int, Path]) -> None:
        """Remove what earlier runs stored for these calls.

        Files in the payload folder are acme's; a file beside the container only
        when the manifest records it (a moved-up result), never a user's file.
        """
        layout = self.layout
        present = set(os.listdir(layout.payload)) if layout.payload.is_dir() else set()
        for index in indices:
            for path in (layout.result_file(index), layout.emergency_pickle(index)):
                if path.name in present:  # one listing, not two unlinks per call
                    path.unlink(missing_ok=True)
            moved = recorded.get(index)
            if moved is not None and moved.parent == layout.folder:
                moved.unlink(missing_ok=True)

    def holds(self, index: int, entry: Mapping[str, Any]) -> bool:
        """Whether the recorded file exists and is complete."""
        path = self.layout.folder / entry["file"]
        if path.suffix == ".pickle":
            return pickle_holds(path, entry)
        try:
            with open_h5(path, "r") as h5:
                return _has(h5, entry.get("datasets", ["result_0"]))
        except OSError:
            return False

    def recover(self, index: int) -> StoredFile | None:
        """The call's file if it exists (written atomically: complete)."""
        target = self.layout.result_file(index)
        if not target.exists():
            return pickled_file(self.layout.emergency_pickle(index))
        with open_h5(target, "r") as h5:
            names = tuple(sorted(h5, key=lambda name: int(name.split("_")[1])))
            stacked = self.stacking is not None
            shape = tuple(h5["result_0"].shape) if stacked else None
        return StoredFile(str(target), names, shape=shape)

    def finalize(self, stored: Sequence[StoredFile]) -> Finished:
        """Build the container, or move everything up if some calls were pickled."""
        files = [file.path for file in stored]  # strings: no Path per call
        pickled = [file for file in files if file.endswith(".pickle")]
        for file in pickled:
            logger.warning(
                "HDF5 cannot hold the result in %s: results have been pickled instead",
                os.path.basename(file),
            )
        payload = str(self.layout.payload)
        if pickled or any(os.path.dirname(file) != payload for file in files):
            return self._move_up([Path(file) for file in files])
        self._build_container(stored)
        logger.log(ANNOUNCE, "SUCCESS!")
        logger.info("Results have been saved to %s", self.layout.container)
        return Finished(files, files, str(self.layout.container))

    def _move_up(self, paths: list[Path]) -> Finished:
        layout = self.layout
        logger.warning(
            "Removing %s: some results were pickled, so it would hold dangling links",
            layout.container,
        )
        layout.container.unlink(missing_ok=True)
        inside = [p for p in paths if p.parent == layout.payload]
        taken = [layout.moved_up(p) for p in inside if layout.moved_up(p).exists()]
        if taken:
            logger.warning(
                "Keeping the results in %s: %s already exists",
                layout.payload,
                taken[0],
            )
            return Finished([str(p) for p in paths], [str(p) for p in paths], None)
        moved = [
            shutil.move(p, layout.moved_up(p)) if p in inside else p for p in paths
        ]
        shutil.rmtree(layout.payload, ignore_errors=True)
        logger.info("Results have been saved to %s", layout.folder)
        files = [str(p) for p in moved]
        return Finished(files, files, None)

    def _build_container(self, stored: Sequence[StoredFile] = ()) -> None:
        """(Re)write the container atomically: links, or a virtual dataset, extras.

        ``stored``: every call's file once all finished, else nothing.
        """
        import h5py  # lazy: import acme must not import h5py

        container = self.layout.container
        with atomic_path(container) as temporary, h5py.File(temporary, "w") as h5:
            if self.stacking is None:
                links = h5.id.links  # the low-level call: 3x faster than h5[...] =
                for i in range(self.n_calls):
                    target = self.layout.relative_file(i).encode()
                    links.create_external(f"comp_{i}".encode(), target, b"/")
            else:
                _virtual_dataset(h5, self, stored)


def _file_info(stored: StoredFile) -> tuple[tuple[int, ...], int]:
    """Shape of ``result_0`` and number of datasets of a per-call file.

    Workers report both; only files recorded by an older acme are opened.
    """
    if stored.shape is not None and stored.datasets:
        return stored.shape, len(stored.datasets)
    with open_h5(Path(stored.path), "r") as h5:
        return tuple(h5["result_0"].shape), len(h5)


def _virtual_dataset(h5: Any, sink: PerCallSink, stored: Sequence[StoredFile]) -> None:
    import h5py  # lazy: import acme must not import h5py

    stacking, n = sink.stacking, sink.n_calls
    assert stacking is not None
    info = [_file_info(file) for file in stored] if stored else [None] * n
    shape = list(stacking.normalised(n))
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
        target = sink.layout.relative_file(i)
        source = h5py.VirtualSource(target, "result_0", shape=source_shape)
        index: list[Any] = [slice(None)] * len(shape)
        index[stacking.axis] = i
        if inf_axis is not None:
            index[inf_axis] = slice(0, source_shape[slot_axes.index(inf_axis)])
        layout[tuple(index)] = source
    h5.create_virtual_dataset("result_0", layout, fillvalue=fill_value(stacking.dtype))
    for i, item in enumerate(info):
        for k in range(1, item[1] if item else 0):
            link = h5py.ExternalLink(sink.layout.relative_file(i), f"/result_{k}")
            h5.require_group(f"comp_{i}")[f"result_{k}"] = link


@dataclass(frozen=True, slots=True)
class SingleFileSink:
    """All calls write into ``<dir>/<f>.h5``, one writer at a time."""

    layout: OutputLayout
    n_calls: int
    stacking: Stacking | None
    deferred_writes = True  # a batch's values under one hold of the lock

    def prepare(self) -> list[Path]:
        """Create the folder and the single file if they are missing."""
        created = [] if self.layout.folder.is_dir() else [self.layout.folder]
        self.layout.folder.mkdir(parents=True, exist_ok=True)
        if not self.layout.container.exists():
            self._create()
            created.append(self.layout.container)
        return created

    def _create(self) -> None:
        """The single result file with empty groups, or the stacked dataset."""
        import h5py  # lazy: import acme must not import h5py

        path = self.layout.container
        with atomic_path(path) as temporary, h5py.File(temporary, "w") as h5:
            if self.stacking is None:
                for i in range(self.n_calls):
                    h5.create_group(f"comp_{i}")
                return
            shape = self.stacking.normalised(self.n_calls)
            h5.create_dataset(
                "result_0",
                shape=tuple(1 if np.isinf(s) else int(s) for s in shape),
                maxshape=tuple(None if np.isinf(s) else int(s) for s in shape),
                dtype=self.stacking.dtype,
                chunks=True if any(np.isinf(s) for s in shape) else None,
                fillvalue=fill_value(self.stacking.dtype),
            )

    def store(self, index: int, value: Any) -> StoredFile:
        """Write call ``index``'s datasets into the file (replacing old ones)."""
        stored: StoredFile | Raised = self.store_many([(index, value)])[0]
        if isinstance(stored, Raised):
            raise stored.exc
        return stored

    def store_many(self, items: Sequence[tuple[int, Any]]) -> list[Any]:
        """Write several calls' datasets, holding the lock and the file once.

        Per item the :class:`StoredFile`, or :class:`Raised` for a value that
        cannot be written (the others are written all the same).
        """
        data = {i: attempt(_datasets, v, self.stacking, i) for i, v in items}
        ready = [(i, d) for i, d in data.items() if not isinstance(d, Raised)]
        path, written = self.layout.container, {}
        try:
            if ready:
                with exclusive(path), open_h5(path, "r+") as h5:
                    written = {i: attempt(self._write, h5, i, d) for i, d in ready}
        except Exception as exc:  # the file cannot be opened: these calls fail
            written = {index: Raised(exc) for index, _ in ready}
        return [written.get(index, data[index]) for index, _ in items]

    def _write(self, h5: Any, index: int, data: list[Any]) -> StoredFile:
        first = 0 if self.stacking is None else 1
        names = tuple(f"comp_{index}/result_{k}" for k in range(first, len(data)))
        self._clear(h5, index)
        if self.stacking is not None:
            _write_slot(h5["result_0"], index, data[0], self.stacking.axis)
        for name, dataset in zip(names, data[first:], strict=True):
            h5.create_dataset(name, data=dataset)  # creates the group too
        return StoredFile(str(self.layout.container), names)

    def _clear(self, h5: Any, index: int) -> None:
        """Empty call ``index``'s group; its stacked slot reads the fill value."""
        group = h5.get(f"comp_{index}")
        for key in list(group or ()):
            del group[key]
        if self.stacking is not None:
            dataset = h5["result_0"]
            where: list[Any] = [slice(None)] * dataset.ndim
            where[self.stacking.axis] = index
            dataset[tuple(where)] = fill_value(self.stacking.dtype)

    def discard(self, indices: Iterable[int], recorded: Mapping[int, Path]) -> None:
        """Empty the groups and slots of the calls that ran before.

        The file is opened for writing only then, so a first run does not wait
        for readers of the fresh file.
        """
        stale, path = [i for i in indices if i in recorded], self.layout.container
        if stale and path.exists():
            with exclusive(path), open_h5(path, "r+") as h5:
                for index in stale:
                    self._clear(h5, index)

    def recover(self, index: int) -> None:
        """The single file is written in place: a lost call runs again."""
        return None

    def holds(self, index: int, entry: Mapping[str, Any]) -> bool:
        """Whether the file opens and holds the datasets the call wrote."""
        try:
            with open_h5(self.layout.container, "r") as h5:
                return _has(h5, entry.get("datasets", ()))
        except OSError:
            return False

    def finalize(self, files: Sequence[str]) -> Finished:
        """``[<dir>/<f>.h5]``; the writers' lock file goes, as every call is done."""
        sidecar(self.layout.container).unlink(missing_ok=True)
        logger.log(ANNOUNCE, "SUCCESS!")
        logger.info("Results have been saved to %s", self.layout.container)
        container = str(self.layout.container)
        return Finished([container], [container] * len(files), container)


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
