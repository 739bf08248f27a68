"""Sinks without a cluster, for the tests of ``test_results_*.py``: each sink
prepared in a folder, and what it wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from acme._settings import OutputMode
from acme.results.hdf5 import PerCallSink, SingleFileSink
from acme.results.layout import OutputLayout
from acme.results.pickles import PickleSink

NAME = "func"


def temporaries(folder: Path) -> list[Path]:
    """Leftover hidden temporary files below ``folder``."""
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp")]


def per_call(folder: Path, n_inputs: int = 4, stacking=None) -> PerCallSink:
    layout = OutputLayout(folder, NAME, OutputMode.HDF5_PER_CALL)
    sink = PerCallSink(layout, n_inputs, stacking)
    assert sink.prepare()[-2:] == [layout.payload, layout.container]
    return sink


def single(folder: Path, n_inputs: int = 4, stacking=None) -> SingleFileSink:
    folder.mkdir(parents=True, exist_ok=True)
    sink = SingleFileSink(
        OutputLayout(folder, NAME, OutputMode.HDF5_SINGLE), n_inputs, stacking
    )
    assert sink.prepare() == [folder / f"{NAME}.h5"]
    return sink


def pickles(folder: Path) -> PickleSink:
    return PickleSink(OutputLayout(folder, NAME, OutputMode.PICKLE))


def store(sink, index, value) -> str:
    """What a sink's ``store`` wrote, as a path."""
    return sink.store(index, value).path


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def read_all(group) -> dict[str, np.ndarray]:
    return {key: group[key][()] for key in group}
