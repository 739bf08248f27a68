"""The run record: the manifest ``<dir>/.acme_<f>.json`` and resume.

:class:`RunRecord` decides whether a folder may be used, which calls of a
resumed run are finished, and records each call as it settles. Only JSON is
read back; a manifest that is not as acme writes it is refused, never trusted.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from .. import config
from .._logging import get_logger
from .._version import __version__
from ..broadcast import CallArgs
from ..errors import AcmeValueError, OutputError, OutputExistsError
from ._files import StoredFile, atomic_path, relative
from ._locks import RunLock
from .identity import fingerprints
from .journal import GENERATION, append, new_generation, replay
from .layout import OutputLayout
from .records import RECORD, append_outputs

__all__ = ["DONE", "FAILED", "PENDING", "RunRecord", "holding"]

logger = get_logger(__name__)
PENDING, DONE, FAILED = "pending", "done", "failed"
_STATUSES = (PENDING, DONE, FAILED)
_IDENTITY_TYPES = {"function": str, "n_inputs": int, "mode": str}


@dataclass(frozen=True, slots=True)
class Start:
    """How a ``compute()`` starts: the calls to run, reused results, old files.

    ``recorded`` maps the calls to run that ran before (done or failed) to the
    result file the manifest has for them; ``records`` maps every call an earlier
    run handed to a worker to the record the manifest keeps of it.
    """

    run: list[int]
    reused: dict[int, StoredFile]
    recorded: dict[int, Path]
    records: dict[int, dict[str, Any]]


class Preparer(Protocol):
    """What a sink offers the record: create its files, check a recorded result."""

    def prepare(self) -> list[Path]:
        """Create what is missing of the mode's folders and files; return those."""

    def holds(self, index: int, entry: Mapping[str, Any]) -> bool:
        """Whether call ``index``'s recorded result is present and complete."""


@contextlib.contextmanager
def holding(layout: OutputLayout, patience: float = 0.0) -> Iterator[None]:
    """Hold the output folder's run lock for the block.

    Another holder is waited for up to ``patience`` seconds.

    Raises
    ------
    OutputExistsError
        If another process (or another ``compute()`` here) uses the folder.
    OutputError
        If the lock cannot be created (the message names the folder).
    """
    lock = RunLock(layout.lock)
    try:
        lock.acquire(patience)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            f"cannot lock the output folder {layout.folder}: {exc}",
            path=str(layout.folder),
        ) from exc
    try:
        yield
    finally:
        try:
            lock.release()
        except OSError as exc:  # a vanished folder must not hide the run's outcome
            logger.warning("Cannot release %s: %s", layout.lock, exc)


def _make_folder(folder: Path) -> bool:
    """Create the output folder unless it exists; whether it was created."""
    made = True
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        made = False
    except OSError as exc:
        raise OutputError(
            f"automatic creation of output folder {folder} failed: {exc}",
            path=str(folder),
        ) from exc
    if not folder.is_dir():
        raise OutputError(
            f"automatic creation of output folder {folder} failed: not a directory",
            path=str(folder),
        )
    return made


def _new_manifest(layout: OutputLayout, identity: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a new run: every call pending."""
    calls = [
        {
            "status": PENDING,
            "file": layout.relative_file(i),
        }
        for i in range(identity["n_inputs"])
    ]
    return {"acme_version": __version__, **identity, "calls": calls}


def _malformed_identity(data: Any) -> str | None:
    """What makes ``data`` not carry a manifest's identity, or None."""
    if not isinstance(data, dict):
        return "the manifest is not a JSON object"
    for key, kind in _IDENTITY_TYPES.items():
        if not isinstance(data.get(key), kind):
            return f"the manifest's {key!r} is missing or not a {kind.__name__}"
    prints = data.get("fingerprints")
    if not isinstance(prints, list) or not all(isinstance(p, str) for p in prints):
        return "the manifest's 'fingerprints' is not a list of strings"
    return None


def _malformed_calls(data: dict[str, Any], layout: OutputLayout) -> str | None:
    """What is wrong with the manifest's per-call entries, or None."""
    calls, n = data.get("calls"), data["n_inputs"]
    if not isinstance(calls, list) or len(calls) != n:
        return f"the manifest's 'calls' is not a list of {n} entries"
    for index, call in enumerate(calls):
        if not isinstance(call, dict) or call.get("status") not in _STATUSES:
            return f"the manifest's entry of call {index} is malformed"
        allowed = {str(p.relative_to(layout.folder)) for p in layout.files_of(index)}
        if call.get("file") not in allowed:
            file = call.get("file")
            return f"the manifest's file of call {index}, {file!r}, is not one of its"
    return None


def _difference(recorded: Mapping[str, Any], identity: Mapping[str, Any]) -> str | None:
    """The first item in which ``identity`` differs from the manifest, or None."""
    for key, value in identity.items():
        previous = recorded.get(key)
        if previous == value:
            continue
        if key == "fingerprints" and isinstance(previous, list):
            if len(previous) == len(value):
                pairs = enumerate(zip(previous, value, strict=True))
                changed = next(i for i, (a, b) in pairs if a != b)
                return f"the arguments of call {changed} differ"
        return f"{key} is {value!r}, the previous run had {previous!r}"
    return None


def _manifest_text(data: Mapping[str, Any]) -> str:
    """The manifest's JSON: a line per key and per call (C-encoded, unlike indent)."""
    lines = [
        f" {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k != "calls"
    ]
    calls = ",\n  ".join(map(json.dumps, data["calls"]))
    return "{\n" + ",\n".join([*lines, f' "calls": [\n  {calls}\n ]']) + "\n}\n"


class RunRecord:
    """The manifest of one run in memory; saved atomically, throttled while running."""

    def __init__(
        self, layout: OutputLayout, data: dict[str, Any], resume: bool
    ) -> None:
        self.layout = layout
        self.data = data
        self.resume = resume
        self._interval = float(config.get("manifest.write-interval"))
        self._saved = 0.0
        self._changed: dict[int, dict[str, Any]] = {}  # since the last save
        self._outputs: list[tuple[int, int, str]] = []  # call, attempt, output
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        layout: OutputLayout,
        identity: dict[str, Any],
        resume: bool,
        sink: Preparer,
        created: list[Path],
    ) -> RunRecord:
        """Open the folder for a new run, or for resuming the previous one.

        Holding the folder's run lock, it checks for a previous run, lets the sink
        create what the mode needs and writes the manifest; what it created is
        appended to ``created``.

        Raises
        ------
        OutputExistsError
            If the folder holds a run of the function and ``resume`` is False, or
            another process is using it.
        AcmeValueError
            If that run cannot be resumed (no manifest, a malformed or differing one).
        OutputError
            If something cannot be created.
        """
        made = _make_folder(layout.folder)
        with holding(layout):
            previous = layout.holds_run()
            if made and not previous:  # another process may have won the lock first
                created.append(layout.folder)
            if previous and not resume:
                raise OutputExistsError(
                    f"automatic creation of output folder {layout.folder} failed: it "
                    f"holds a previous run of {layout.name}. Pass `resume=True` to "
                    "continue that run, or choose a new `output_dir`.",
                    path=str(layout.folder),
                )
            if previous:
                record = cls._previous(layout, identity)
            else:
                if resume:
                    logger.info(
                        "No previous run of %s found in %s; starting afresh",
                        layout.name,
                        layout.folder,
                    )
                record = cls(layout, _new_manifest(layout, identity), resume)
            record._create(sink, created)
        return record

    @classmethod
    def _previous(cls, layout: OutputLayout, identity: dict[str, Any]) -> RunRecord:
        """The record of the run in the folder, if it may be resumed; else raise."""
        try:
            data = json.loads(layout.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        problem = "it has no manifest to verify against" if data is None else None
        problem = (
            problem
            or _malformed_identity(data)
            or replay(layout.journal, data)
            or _difference(data, identity)
            or _malformed_calls(data, layout)
        )
        if problem is not None:
            raise AcmeValueError(
                f"cannot resume the run of {layout.name} in {layout.folder}: {problem}"
            )
        done = sum(call["status"] == DONE for call in data["calls"])
        logger.info(
            "Resuming the run of %s in %s: %d/%d calls finished",
            layout.name,
            layout.folder,
            done,
            identity["n_inputs"],
        )
        return cls(layout, data, True)

    def _create(self, sink: Preparer, created: list[Path]) -> None:
        """Remove leftover temporaries, create what is missing, write the manifest."""
        self._remove_temporaries()
        existed = self.layout.manifest.exists()
        try:
            created.extend(sink.prepare())
            if not existed:  # a resumed run's manifest changes when compute() starts
                self.save()
        except OSError as exc:
            raise OutputError(
                f"automatic creation of output folder {self.layout.folder} failed: "
                f"{exc}",
                path=str(self.layout.folder),
            ) from exc
        if not existed:
            created.append(self.layout.manifest)

    def _remove_temporaries(self) -> None:
        for temporary in self.layout.temporaries():
            temporary.unlink(missing_ok=True)

    def todo(self, call_args: CallArgs, sink: Preparer) -> Start:
        """Start a ``compute()``: the calls to run, and the reused results by call.

        With ``resume=True`` the calls whose recorded result is complete are
        skipped (once the arguments are checked again); otherwise all calls run.
        """
        identity = {"fingerprints": fingerprints(call_args)}
        reused: dict[int, StoredFile] = {}
        if self.resume:
            difference = _difference(self.data, identity)
            if difference is not None:
                raise AcmeValueError(
                    f"cannot resume the run of {self.layout.name}: {difference}"
                )
            for index, call in enumerate(self.data["calls"]):
                if call["status"] == DONE and sink.holds(index, call):
                    reused[index] = StoredFile.from_entry(self.layout.folder, call)
        self.data.update(identity)
        todo = [i for i in range(call_args.n_calls) if i not in reused]
        calls = self.data["calls"]
        recorded = {
            i: self.layout.folder / calls[i]["file"]
            for i in todo
            if calls[i]["status"] != PENDING
        }
        records = {
            i: call[RECORD]
            for i, call in enumerate(calls)
            if isinstance(call.get(RECORD), dict)
        }
        for index in todo:
            call = calls[index]
            if call["status"] != PENDING or call["file"] != self.layout.relative_file(
                index
            ):
                self.mark(index, PENDING, str(self.layout.result_file(index)))
        self.save()
        return Start(todo, reused, recorded, records)

    def mark(
        self,
        index: int,
        status: str,
        file: str | StoredFile,
        record: dict[str, Any] | None = None,
        output: str = "",
    ) -> None:
        """Record a call's status, result file and what it did.

        ``file`` is absolute, or the file as written; ``record`` replaces the
        record the entry had (else that one stays), and a non-empty ``output``
        is appended to the output file with the next save.
        """
        stored = file if isinstance(file, StoredFile) else StoredFile(file)
        entry = stored.entry(self.layout.folder, status)
        with self._lock:
            calls = self.data["calls"]
            if record is None:
                record = calls[index].get(RECORD)
            elif output:
                self._outputs.append((index, record["attempt"], output))
            if record is not None:
                entry[RECORD] = record
            calls[index] = self._changed[index] = entry

    def close(self, files: Iterable[str]) -> None:
        """Record the final result files (after moving up) of a finished run.

        Temporary files left by writers killed during the run go too: every call
        has settled, so none of them is still being written.
        """
        self._remove_temporaries()
        folder = self.layout.folder
        for index, file in enumerate(files):
            call = self.data["calls"][index]
            if call["status"] != DONE or call["file"] != relative(file, folder):
                recorded = StoredFile.from_entry(folder, call)
                self.mark(index, DONE, replace(recorded, path=file))

    def save(self, force: bool = True) -> None:
        """Write the manifest; unless ``force``, append changes once per interval.

        A full save rewrites the manifest under a new journal generation and
        removes the journal; in between, changes are appended to the journal,
        so the cost of a save does not grow with the number of calls.

        Raises
        ------
        OutputError
            If the manifest or its journal cannot be written (the message names it).
        """
        with self._lock:
            now = time.monotonic()
            journal = self.layout.journal
            full = force or GENERATION not in self.data
            if not full and (not self._changed or now - self._saved < self._interval):
                return
            path = self.layout.output
            try:
                append_outputs(path, self._outputs)  # before the entries naming them
                self._outputs = []
                path = self.layout.manifest if full else journal
                if full:
                    self.data[GENERATION] = new_generation()
                    text = _manifest_text(self.data)
                    with atomic_path(path) as temporary:
                        temporary.write_text(text, encoding="utf-8")
                    journal.unlink(missing_ok=True)
                else:
                    append(journal, self.data[GENERATION], self._changed)
            except OSError as exc:
                raise OutputError(
                    f"cannot write the manifest {path}: {exc}", path=str(path)
                ) from exc
            self._saved = now
            self._changed = {}
