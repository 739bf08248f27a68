"""Scripted answers for acme's prompts (``input(prompt)``), shared by the tests."""

from __future__ import annotations

import builtins

import pytest


class Answers:
    """Stands in for ``input(prompt)``: replays answers and records the prompts."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt, /):
        self.prompts.append(prompt)
        if not self.answers:
            raise AssertionError(f"unexpected prompt {prompt!r}")
        return self.answers.pop(0)


def answer(monkeypatch: pytest.MonkeyPatch, *answers: str) -> Answers:
    """Make ``input`` reply with ``answers`` in turn; returns the recorder."""
    replay = Answers(*answers)
    monkeypatch.setattr(builtins, "input", replay)
    return replay
