"""Prompts (user guide, "Prompts") and the dry-run prompt ("Dry runs")."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

import pytest
from clients import no_client
from prompts import answer

from acme import ParallelMap
from acme._interactive import ask, ask_yes_no, is_interactive

DRYRUN_PROMPT = (
    "Do you want to continue executing dry_func with the provided arguments? [Y/n]"
)


# -- is_interactive -------------------------------------------------------------------


def test_interactive_with_tty_and_request(tty):
    assert is_interactive(True) is True


def test_not_interactive_when_not_requested(tty):
    assert is_interactive(False) is False


def test_not_interactive_without_tty(no_tty):
    assert is_interactive(True) is False


def test_not_interactive_without_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    assert is_interactive(True) is False


# -- ask_yes_no -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("y", True),
        ("Y", True),
        ("yes", True),
        ("YES", True),
        ("Yes", True),
        ("n", False),
        ("N", False),
        ("no", False),
        ("NO", False),
        ("nO", False),
    ],
)
@pytest.mark.parametrize("default", [True, False])
def test_yes_no_answers_in_any_case(monkeypatch, reply, expected, default):
    answers = answer(monkeypatch, reply)
    assert ask_yes_no("Proceed? [y/n] ", default=default) is expected
    assert answers.prompts == ["Proceed? [y/n] "]


@pytest.mark.parametrize("default", [True, False])
def test_empty_answer_takes_default(monkeypatch, default):
    answer(monkeypatch, "")
    assert ask_yes_no("Proceed? ", default=default) is default


@pytest.mark.parametrize("default", [True, False])
def test_end_of_input_takes_default(monkeypatch, default):
    answer(monkeypatch, EOFError)
    assert ask_yes_no("Proceed? ", default=default) is default


@pytest.mark.parametrize("default", [True, False])
def test_three_invalid_answers_take_default(monkeypatch, default):
    answers = answer(monkeypatch, "maybe", "yess", "0", "y" if not default else "n")
    assert ask_yes_no("Proceed? ", default=default) is default
    assert answers.prompts == ["Proceed? "] * 3


def test_invalid_answer_asks_again(monkeypatch):
    answers = answer(monkeypatch, "perhaps", "later", "no")
    assert ask_yes_no("Proceed? ", default=True) is False
    assert len(answers.prompts) == 3


@pytest.mark.parametrize("default", [True, False])
def test_deadline_takes_default(blocked_input, default):
    assert ask_yes_no("Proceed? ", default=default, wait=0.2) is default


def test_answer_within_deadline_is_used(monkeypatch):
    answer(monkeypatch, "n")
    assert ask_yes_no("Proceed? ", default=True, wait=30) is False


def test_end_of_input_with_deadline_takes_default(monkeypatch):
    answer(monkeypatch, EOFError)
    assert ask_yes_no("Proceed? ", default=True, wait=30) is True


# -- ask (a multiple-choice prompt) ---------------------------------------------------

CHOICES = {"k": "keep", "a": "abort", "c": "continue"}


def test_ask_returns_parsed_choice(monkeypatch):
    answers = answer(monkeypatch, "x", "A")
    assert ask("[k]eep, [a]bort or [c]ontinue? ", CHOICES.get, "continue") == "abort"
    assert answers.prompts == ["[k]eep, [a]bort or [c]ontinue? "] * 2


@pytest.mark.parametrize("replies", [("",), (EOFError,), ("x", "y", "z")])
def test_ask_takes_default(monkeypatch, replies):
    answer(monkeypatch, *replies)
    assert ask("choose: ", CHOICES.get, "continue") == "continue"


def test_ask_deadline_takes_default(blocked_input):
    assert ask("choose: ", CHOICES.get, "continue", wait=0.2) == "continue"


# -- the dry-run prompt end to end ----------------------------------------------------

DRY_CALLS: list[tuple[int, int]] = []


def dry_func(x):
    DRY_CALLS.append((x, os.getpid()))
    return x * 10


@pytest.fixture
def dry_calls() -> Iterator[list[tuple[int, int]]]:
    DRY_CALLS.clear()
    yield DRY_CALLS
    DRY_CALLS.clear()


def test_dryrun_declined_starts_nothing(tty, monkeypatch, dry_calls, capsys, tmp_path):
    answers = answer(monkeypatch, "n")
    pmap = ParallelMap(
        dry_func,
        [1, 2, 3],
        dryrun=True,
        setup_interactive=True,
        write_worker_results=False,
    )
    with pmap:
        assert [prompt.strip() for prompt in answers.prompts] == [DRYRUN_PROMPT]
        assert len(dry_calls) == 1
        assert dry_calls[0][0] in (1, 2, 3)
        assert dry_calls[0][1] == os.getpid()
        assert pmap.config.client is None
        assert pmap.daemon.client is None
        assert no_client()
        assert pmap.compute() is None
    pmap.cleanup()
    assert pmap.compute() is None
    assert no_client()
    assert len(dry_calls) == 1
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    index = [1, 2, 3].index(dry_calls[0][0])
    assert (
        "ACME - INFO - Performing a single dry-run of dry_func simulating randomly "
        f"picked worker #{index} with automatically distributed arguments"
    ) in err
    assert re.search(
        r"ACME - INFO - Dry-run completed\. Elapsed time is \S+ seconds, "
        r"estimated memory consumption was \S+ [MG]B\.",
        err,
    )
    assert "Attaching to" not in err
    assert "client ready" not in err


def test_dryrun_accepted_continues(tty, monkeypatch, dry_calls):
    answers = answer(monkeypatch, "y")
    with ParallelMap(
        dry_func,
        [1, 2],
        dryrun=True,
        setup_interactive=True,
        write_worker_results=False,
        n_workers=1,
    ) as pmap:
        assert [p.strip() for p in answers.prompts] == [DRYRUN_PROMPT]
        assert len(dry_calls) == 1
        assert pmap.config.client is not None
        assert pmap.config.stop_client is True
        assert pmap.compute() == [10, 20]
    assert no_client()


def test_dryrun_without_tty_continues_without_prompt(no_tty, no_prompt, dry_calls):
    with ParallelMap(
        dry_func,
        [1, 2],
        dryrun=True,
        setup_interactive=True,
        write_worker_results=False,
        n_workers=1,
    ) as pmap:
        assert pmap.config.setup_interactive is False
        assert len(dry_calls) == 1
        assert pmap.config.client is not None
        assert pmap.compute() == [10, 20]
    assert no_client()


def test_dryrun_not_interactive_when_disabled(tty, no_prompt, dry_calls, client):
    with ParallelMap(
        dry_func,
        [1, 2],
        dryrun=True,
        setup_interactive=False,
        write_worker_results=False,
    ) as pmap:
        assert len(dry_calls) == 1
        assert pmap.config.client is client
        assert pmap.compute() == [10, 20]
