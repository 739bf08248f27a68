"""The dry run: one randomly picked call in this process before the real run.

It writes its result as the real run would, into a scratch folder that is
removed again, and asks whether to go on when prompts are allowed.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _logging
from ._interactive import ask_yes_no
from ._settings import Settings
from .broadcast import TASK_ID, CallArgs, FuncSpec
from .results import make_sink
from .results.layout import OutputLayout

__all__ = ["dry_run"]

logger = _logging.get_logger(__name__)


def dry_run(
    func: Callable[..., Any],
    spec: FuncSpec,
    call_args: CallArgs,
    settings: Settings,
    layout: OutputLayout | None,
) -> bool:
    """Run one random call here; False if the user declines to go on."""
    import psutil  # lazy: only dry runs measure memory

    index = random.randrange(call_args.n_calls)
    logger.info(
        "Performing a single dry-run of %s simulating randomly picked worker #%d "
        "with automatically distributed arguments",
        spec.name,
        index,
    )
    args, kwargs = call_args.for_call(index, call_args.shared)
    if spec.has_task_id:
        kwargs[TASK_ID] = index
    process = psutil.Process()
    memory, start = process.memory_info().rss, time.perf_counter()
    value = func(*args, **kwargs)
    if layout is not None:
        _scratch_store(settings, call_args.n_calls, layout, index, value)
    elapsed = time.perf_counter() - start
    used = max(0, process.memory_info().rss - memory) / 1e6
    amount = f"{used / 1000:.2f} GB" if used >= 1000 else f"{used:.2f} MB"
    logger.info(
        "Dry-run completed. Elapsed time is %f seconds, estimated memory "
        "consumption was %s.",
        elapsed,
        amount,
    )
    if not settings.interactive:
        return True
    prompt = (
        f"Do you want to continue executing {spec.name} with the provided "
        "arguments? [Y/n] "
    )
    return ask_yes_no(prompt, default=True)


def _scratch_store(
    settings: Settings, n_calls: int, layout: OutputLayout, index: int, value: Any
) -> None:
    """Write a result as the real run would, into a scratch folder."""
    with tempfile.TemporaryDirectory(dir=layout.folder, prefix=".acme-dry-") as tmp:
        scratch = OutputLayout(Path(tmp), layout.name, layout.mode)
        sink = make_sink(settings, n_calls, scratch)
        sink.prepare()
        sink.store(index, value)
