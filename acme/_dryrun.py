"""The dry run: one randomly picked call in this process before the real run.

It writes its result as the real run would, into a scratch folder that is
removed again, and asks whether to go on when prompts are allowed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from . import _logging
from ._interactive import ask_yes_no
from ._settings import OutputMode
from ._state import RunState
from .broadcast import call_arguments
from .results.hdf5 import PerCallSink
from .results.layout import OutputLayout
from .results.pickles import PickleSink

__all__ = ["dry_run"]

logger = _logging.get_logger(__name__)


def dry_run(state: RunState) -> bool:
    """Step 16: run one random call here; False if the user declines to go on."""
    import random

    import psutil

    config = state.config
    index = random.randrange(config.n_calls)
    logger.info(
        "Performing a single dry-run of %s simulating randomly picked worker #%d "
        "with automatically distributed arguments",
        state.spec.name,
        index,
    )
    call_args = call_arguments(config.argv, config.kwargv, config.n_calls)
    args, kwargs = call_args.for_call(index, call_args.shared)
    if state.spec.has_task_id:
        kwargs["taskID"] = index
    process = psutil.Process()
    memory, start = process.memory_info().rss, time.perf_counter()
    value = config.func(*args, **kwargs)
    if state.layout is not None:
        _scratch_store(state, state.layout, index, value)
    elapsed = time.perf_counter() - start
    used = max(0, process.memory_info().rss - memory) / 1e6
    amount = f"{used / 1000:.2f} GB" if used >= 1000 else f"{used:.2f} MB"
    logger.info(
        "Dry-run completed. Elapsed time is %f seconds, estimated memory "
        "consumption was %s.",
        elapsed,
        amount,
    )
    if not state.settings.interactive:
        return True
    prompt = (
        f"Do you want to continue executing {state.spec.name} with the provided "
        "arguments? [Y/n] "
    )
    if ask_yes_no(prompt, default=True):
        return True
    _logging.configure(_logging.level_for(config.verbose))
    if state.layout is not None:
        state.layout.remove_created()
    config.logfile = None
    return False


def _scratch_store(
    state: RunState, layout: OutputLayout, index: int, value: Any
) -> None:
    """Dry run: write a result as the real run would, into a scratch folder."""
    with tempfile.TemporaryDirectory(dir=layout.folder, prefix=".acme-dry-") as tmp:
        if state.settings.output is OutputMode.PICKLE:
            PickleSink(tmp, layout.name).store(index, value)
            return
        Path(tmp, f"{layout.name}_payload").mkdir()
        sink = PerCallSink(
            tmp, layout.name, state.config.n_calls, state.settings.stacking
        )
        sink.store(index, value)
