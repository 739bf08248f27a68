"""The Python examples of README.md and docs/*.rst: collect, run and compare them.

Used by ``test_docs_examples.py`` (which also runs the scripts in examples/),
and run by it as a script (``python doc_examples.py <plan.json> <result.json>``)
to execute the examples of one page.

What is collected
-----------------
* in ``.rst`` files: ``.. code-block:: python`` (also ``code``/``sourcecode``,
  and ``pycon``), ``::`` literal blocks and doctest blocks that start with
  ``>>>``;
* in Markdown: fenced ``python`` (``py``, ``pycon``) blocks.

A block followed by a text block (``::``, ``.. code-block:: text``/``console``/
``none``, a Markdown ``text``/``console`` fence), with at most one paragraph in
between ("prints::"), shows that block's output. Doctest examples (``>>>``)
show theirs after the prompt lines.

Comments in the documents steer the run; they are invisible in the rendered
page (rst comments as below, in Markdown ``<!-- not-run: <reason> -->`` and so
on) and apply to the next code block:

* ``.. not-run: <reason>`` -- the block is only compiled, never run (the
  reason is required, and the test keeps the number of these small);
* ``.. runs-on: slurm`` -- the block needs a SLURM controller; it runs with
  ``acme.cluster`` at its default (``auto``) instead of ``local``;
* ``.. run-with: NAME=value`` -- the block runs with that environment variable
  set (the page's run folder is the working directory, so a relative path in
  it lies there).

Trailing comments that state a value are checked too: ``x = ...  # [1, 2]``
(a Python literal), ``# array([18])``, ``# shape (4, 3)``, ``# ndarray of shape
(5, 10), dtype float64``, a comparison such as ``# a.shape == (4, 3)`` on any
statement, and ``print(...)  # text`` (a line of the block's output, unless the
block shows its output below it: then comments on ``print`` lines are prose).

How a page runs
---------------
All blocks of one page run in order in one namespace named ``__main__``, in a
fresh interpreter whose working directory is a new temporary folder, as in one
IPython or Jupyter session. Each block is compiled from a file in that folder
that has the block at its line in the page, so tracebacks name the page's line,
and default ``ACME_<timestamp>`` output folders land in the temporary folder.
Worker processes do not import the page again, which is what code under
``if __name__ == "__main__":`` in a script gets; :func:`unguarded_cluster_calls`
checks statically that blocks written as scripts guard their cluster start.

Normalisation of shown output
-----------------------------
What a unit printed is what the page's own process wrote to stdout and stderr
(prints, acme's log, warnings), in the order written. Output of child processes
-- the worker processes of a local cluster, which also print what the calls
print -- arrives in any order and is kept apart (``children.log`` in the run's
folder); SLURM workers write into their job's output file anyway.

Shown and actual output both go through :func:`normalise` before they are
compared. Dropped: blank lines, tqdm progress bars, dask's own log lines, the
carets under traceback lines (Python 3.11+), and distributed's warning that
the dashboard port is taken. Of a line redrawn with ``\\r`` (the SLURM
"workers ready" line) only the last state counts. Values that differ from run
to run become placeholders: the folder the example ran in (shown as
``/tmp/acmedocs/<page>``), ``$HOME`` (shown as ``/home/me``), the checkout
(shown as ``/work/main``) and its interpreter (``/work/main/.venv/bin/python``),
timestamps, clock times, durations, addresses and ports, memory sizes, worker
counts, SLURM job ids and cluster names, digests, the acme version and the file
and line of traceback frames (see ``RULES``). A
``...`` in shown output matches anything within a line, and a line of only
``...`` any number of lines (as doctest's ELLIPSIS).
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import io
import json
import os
import re
import sys
import textwrap
import time
import tokenize
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# -- collecting -------------------------------------------------------------------

PYTHON_LANGUAGES = {"python", "py", "python3", "pycon"}
OUTPUT_LANGUAGES = {"text", "console", "none", "output"}
_DIRECTIVE = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(\S*)\s*$")
_RST_MARKER = re.compile(r"^\.\. (not-run|runs-on|run-with):\s*(.*?)\s*$")
_MD_MARKER = re.compile(r"^<!--\s*(not-run|runs-on|run-with):\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
# statements in a block written as a script that start a cluster
CLUSTER_STARTERS = {
    "ParallelMap",
    "local_cluster_setup",
    "slurm_cluster_setup",
    "esi_cluster_setup",
    "bic_cluster_setup",
    "LocalCluster",
    "Client",
}


@dataclasses.dataclass
class Check:
    """A value stated in a trailing comment: checked right after its statement."""

    line: int
    kind: str  # "equal", "array", "shape", "true" (run in the page) or "printed"
    text: str
    target: str | None = None


@dataclasses.dataclass
class Unit:
    """One piece of code that runs as a whole: a block, or one doctest example."""

    path: str
    line: int
    code: str
    mode: str = "exec"  # "exec", or "single" for a doctest example
    shown: str | None = None
    shown_line: int | None = None
    slurm: bool = False
    not_run: str | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    checks: list[Check] = dataclasses.field(default_factory=list)

    @property
    def name(self) -> str:
        """``<path>:<line>``, how tests and messages name the unit."""
        return f"{self.path}:{self.line}"


@dataclasses.dataclass
class _Raw:
    """A block as found in the document, before it is turned into units."""

    language: str
    start: int  # first line of the markup (directive, fence, "::" paragraph end)
    line: int  # first line of content
    end: int  # last line of content
    code: str
    markers: list[tuple[str, str, int]]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _indented_block(lines: list[str], index: int, base: int) -> tuple[int, int]:
    """The lines after ``index`` indented more than ``base``: (first, last), 0-based."""
    first = index + 1
    while first < len(lines) and not lines[first].strip():
        first += 1
    end = first
    last = first - 1
    while end < len(lines):
        text = lines[end]
        if text.strip():
            if _indent(text) <= base:
                break
            last = end
        end += 1
    return first, last


def _stray(markers: list[tuple[str, str, int]], where: str) -> ValueError:
    """The error for steering comments that precede no block."""
    kind, _, line = markers[0]
    return ValueError(f"line {line}: {kind} comment {where}")


def _rst_blocks(text: str) -> list[_Raw]:
    lines = text.splitlines()
    blocks: list[_Raw] = []
    markers: list[tuple[str, str, int]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _RST_MARKER.match(line)
        directive = _DIRECTIVE.match(line)
        if marker:
            value = marker.group(2)
            while index + 1 < len(lines) and lines[index + 1].startswith(" "):
                index += 1  # the comment goes on in indented lines
                value = f"{value} {lines[index].strip()}".strip()
            markers.append((marker.group(1), value, index + 1))
        elif directive:
            base = len(directive.group(1))
            language = directive.group(2).lower() or "text"
            body = index + 1
            while body < len(lines) and lines[body].strip().startswith(":"):
                body += 1  # directive options
            first, last = _indented_block(lines, body - 1, base)
            code = textwrap.dedent("\n".join(lines[first : last + 1]))
            blocks.append(_Raw(language, index + 1, first + 1, last + 1, code, markers))
            markers = []
            index = max(last, index) + 1
            continue
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".. "):
            base = _indent(line)
            first, last = _indented_block(lines, index, base)
            if last >= first:
                code = textwrap.dedent("\n".join(lines[first : last + 1]))
                language = "doctest" if code.lstrip().startswith(">>>") else "literal"
                blocks.append(_Raw(language, index + 1, first + 1, last + 1, code, []))
                if language == "doctest":
                    blocks[-1].markers, markers = markers, []
                index = last + 1
                continue
        elif line.startswith(">>>"):
            last = index
            while last + 1 < len(lines) and lines[last + 1].strip():
                last += 1
            code = "\n".join(lines[index : last + 1])
            blocks.append(
                _Raw("doctest", index + 1, index + 1, last + 1, code, markers)
            )
            markers = []
            index = last + 1
            continue
        elif line.strip() and markers and not line.startswith(".. "):
            raise _stray(markers, "not followed by a block")
        index += 1
    if markers:
        raise _stray(markers, "at the end")
    return blocks


def _markdown_blocks(text: str) -> list[_Raw]:
    lines = text.splitlines()
    blocks: list[_Raw] = []
    markers: list[tuple[str, str, int]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _MD_MARKER.match(line)
        fence = _FENCE.match(line)
        if marker:
            markers.append((marker.group(1), marker.group(2), index + 1))
        elif fence:
            close = fence.group(2)
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith(close):
                end += 1
            code = textwrap.dedent("\n".join(lines[index + 1 : end]))
            language = fence.group(3).lower() or "text"
            blocks.append(_Raw(language, index + 1, index + 2, end, code, markers))
            markers = []
            index = end + 1
            continue
        elif line.strip() and markers:
            raise _stray(markers, "not followed by a block")
        index += 1
    if markers:
        raise _stray(markers, "at the end")
    return blocks


def _one_paragraph(lines: list[str]) -> bool:
    """True when ``lines`` are blank or one paragraph (no heading, no directive)."""
    groups = "\n".join(line.strip() for line in lines).strip().split("\n\n")
    if len([group for group in groups if group.strip()]) > 1:
        return False
    return not any(
        line.lstrip().startswith((".. ", "#", "<!--"))
        or (len(set(line.strip())) == 1 and line.strip()[0] in "=-^~*#")
        for line in lines
        if line.strip()
    )


def _is_python(raw: _Raw) -> bool:
    return raw.language in PYTHON_LANGUAGES or raw.language == "doctest"


def _is_output(raw: _Raw) -> bool:
    return raw.language in OUTPUT_LANGUAGES or raw.language == "literal"


def _units(path: str, text: str, raws: list[_Raw]) -> list[Unit]:
    lines = text.splitlines()
    units: list[Unit] = []
    for position, raw in enumerate(raws):
        if not _is_python(raw):
            continue
        options = _options(path, raw)
        if raw.language == "doctest" or raw.code.lstrip().startswith(">>>"):
            for example in doctest.DocTestParser().get_examples(raw.code):
                line = raw.line + example.lineno
                units.append(
                    Unit(
                        path,
                        line,
                        example.source,
                        mode="single",
                        shown=example.want,
                        shown_line=line + example.source.count("\n"),
                        **options,
                    )
                )
            continue
        unit = Unit(path, raw.line, raw.code, **options)
        following = raws[position + 1] if position + 1 < len(raws) else None
        if (
            following is not None
            and _is_output(following)
            and _one_paragraph(lines[raw.end : following.start - 1])
        ):
            unit.shown, unit.shown_line = following.code, following.line
        unit.checks = comment_checks(unit.code, unit.line)
        if unit.shown is not None:  # the shown output is the check of what it prints
            unit.checks = [check for check in unit.checks if check.kind != "printed"]
        units.append(unit)
    return units


def _options(path: str, raw: _Raw) -> dict[str, Any]:
    options: dict[str, Any] = {"env": {}}
    for kind, value, line in raw.markers:
        if kind == "not-run":
            if not value:
                raise ValueError(f"{path}:{line}: not-run without a reason")
            options["not_run"] = value
        elif kind == "runs-on":
            if value != "slurm":
                raise ValueError(f"{path}:{line}: unknown runs-on {value!r}")
            options["slurm"] = True
        else:
            name, sep, setting = value.partition("=")
            if not sep or not name:
                raise ValueError(f"{path}:{line}: run-with needs NAME=value")
            options["env"][name] = setting
    return options


def collect(path: Path) -> list[Unit]:
    """Every Python unit of one page (README.md or an .rst file), in order."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(REPO).as_posix()
    raws = _markdown_blocks(text) if path.suffix == ".md" else _rst_blocks(text)
    return _units(name, text, raws)


def literal_blocks(path: Path) -> list[tuple[int, str]]:
    """The ``::`` literal blocks of an .rst page that are not doctest blocks."""
    raws = _rst_blocks(path.read_text(encoding="utf-8"))
    return [(raw.line, raw.code) for raw in raws if raw.language == "literal"]


def pages() -> list[Path]:
    """README.md and docs/*.rst."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.rst"))]


def examples() -> list[Path]:
    """The scripts in examples/."""
    return sorted((REPO / "examples").glob("*.py"))


# -- checks stated in comments ------------------------------------------------------

_SHAPE = re.compile(r"(?:ndarray of )?shape (\([\d, ]*\))(?:, dtype (\w+))?")


def _inside_function(tree: ast.AST) -> set[int]:
    """ids of the statements inside a def, lambda or class (never instrumented)."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner.update(id(child) for child in ast.walk(node) if child is not node)
    return inner


def comment_checks(code: str, first_line: int) -> list[Check]:
    """The values stated in trailing comments of ``code`` (see the module docstring)."""
    try:
        tree = ast.parse(code)
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (SyntaxError, tokenize.TokenError):
        return []
    inner = _inside_function(tree)
    simple = {
        node.end_lineno: node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        and id(node) not in inner
        and not hasattr(node, "body")
    }
    checks = []
    for token in tokens:
        if token.type != tokenize.COMMENT or not token.line[: token.start[1]].strip():
            continue
        row = token.start[0]
        node = simple.get(row)
        text = token.string[1:].strip()
        if node is None or not text:
            continue
        check = _classify(node, text, first_line + row - 1)
        if check is not None:
            checks.append(check)
    return checks


def _classify(node: ast.stmt, text: str, line: int) -> Check | None:
    try:
        expression = ast.parse(text, mode="eval").body
    except SyntaxError:
        expression = None
    if isinstance(expression, ast.Compare):
        return Check(line, "true", text)
    if (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "print"
    ):
        return Check(line, "printed", text)
    if not (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return None
    target = node.targets[0].id
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    else:
        return Check(line, "equal", text, target)
    if re.fullmatch(r"array\(.*\)", text):
        return Check(line, "array", text, target)
    if _SHAPE.fullmatch(text):
        return Check(line, "shape", text, target)
    return None


# -- scripts must guard the start of their clusters --------------------------------


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and any(
            isinstance(c, ast.Constant) and c.value == "__main__"
            for c in node.test.comparators
        )
    )


def unguarded_cluster_calls(code: str) -> list[int]:
    """Lines outside ``if __name__ == "__main__":`` that may start a cluster.

    Only for code that has such a guard, i.e. presents itself as a script: there,
    worker processes of a local cluster import the script again and would run
    those lines too.
    """
    tree = ast.parse(code)
    if not any(_is_main_guard(node) for node in tree.body):
        return []
    lines = []
    for statement in tree.body:
        if _is_main_guard(statement) or isinstance(
            statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else None
                name = func.id if isinstance(func, ast.Name) else name
                if name in CLUSTER_STARTERS:
                    lines.append(node.lineno)
    return lines


# -- normalising and comparing output -----------------------------------------------

# what the documents show for the folders of the run that produced their output
DOC_CWD = r"/tmp/acmedocs/[\w.-]+"
DOC_HOME = "/home/me"
DOC_REPO = "/work/main"
DOC_PYTHON = f"{DOC_REPO}/.venv/bin/python"
# (pattern, replacement), applied in order to every line, after the paths
RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in [
        # traceback frames: the file and line of the code (the doc's or acme's)
        (r'File "[^"]+", line \d+', 'File "<file>", line <n>'),
        (r"\bACME v\. \S+", "ACME v. <version>"),
        (r"ACME_\d{8}-\d{6}-\d{6}", "ACME_<timestamp>"),
        (r"_\d{8}-\d{6}(-\d+)?\.log\b", "_<timestamp>.log"),
        (r"credentials/[^/\s]+", "credentials/<id>"),
        (r"^\S+ SLURM workers ready: \d+/", "<name> SLURM workers ready: <k>/"),
        (r"\b\d{2}:\d{2}:\d{2}\b", "<hh:mm:ss>"),
        (r"\b\d{2}:\d{2} elapsed", "<mm:ss> elapsed"),
        (r"\b\d{1,3}(\.\d{1,3}){3}\b", "<ip>"),
        (r"(<ip>|localhost):\d+", r"\1:<port>"),
        (r"-L \d+:", "-L <port>:"),
        (r"<user>@[\w.-]+", "<user>@<host>"),
        (r"Cluster node \S+ not recognized", "Cluster node <host> not recognized"),
        (r"#[0-9a-f]{16}\b", "#<digest>"),
        (r"peak memory .*", "peak memory <memory>"),
        (r"memory=[\d.]+ ?\w+", "memory=<memory>"),
        (r"--memory-limit \S+", "--memory-limit <memory>"),
        (r"\b\d+\.\d+ ?(MB|GB|GiB|MiB)\b", r"<n> \1"),
        (r"\b\d+(\.\d+)? ?(us|ms|s|seconds)\b", "<time>"),
        (r"longest <time> \(call \d+\)", "longest <time> (call <i>)"),
        (r"\b(using|containing) \d+ workers\b", r"\1 <n> workers"),
        (r"\bSLURM job \d+", "SLURM job <id>"),
        (r"\bslurm-\d+\.out\b", "slurm-<id>.out"),
        (r"^\['\d+'(, '\d+')*\]$", "[<job ids>]"),
    ]
]
# lines that are not part of what the documents show
_DROPPED = [
    re.compile(p)
    for p in [
        r"^\s*\d+%\|",  # tqdm progress bars
        r"\d+/\d+ \[[^\]]*(it/s|s/it)\]$",
        # dask's own log lines
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - )?"
        r"(distributed|dask_jobqueue|tornado)\.",
        r"^\s*[~^]+\s*$",  # the carets under a traceback line (Python 3.11+)
        # distributed's warning when another cluster has the dashboard port
        r"UserWarning: Port \d+ is already in use",
        r"^Perhaps you already have a cluster running\?$",
        r"^Hosting the HTTP server on port \d+ instead$",
        r"^\s*warnings\.warn\($",
    ]
]


def normalise(text: str, folders: dict[str, str] | None = None) -> list[str]:
    """``text`` as comparable lines (see the module docstring).

    ``folders`` maps placeholders (``cwd``, ``home``, ``repo``, ``python``) to
    the folders of the actual run (and its interpreter); the documents'
    conventions for them are always replaced.
    """
    replacements: list[tuple[str, str]] = []
    for placeholder, folder in (folders or {}).items():
        for variant in {folder, os.path.realpath(folder)}:
            replacements.append((variant, f"<{placeholder}>"))
    replacements.sort(key=lambda pair: -len(pair[0]))
    lines = []
    for raw in text.split("\n"):  # not splitlines(): "\r" ends no line here
        line = raw.rsplit("\r", 1)[-1].rstrip()
        if not line.strip() or any(pattern.search(line) for pattern in _DROPPED):
            continue
        for folder, placeholder in replacements:
            line = line.replace(folder, placeholder)
        line = re.sub(DOC_CWD, "<cwd>", line)
        line = line.replace(DOC_PYTHON, "<python>").replace(DOC_HOME, "<home>")
        line = line.replace(DOC_REPO, "<repo>")
        for pattern, replacement in RULES:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return lines


def _line_pattern(line: str) -> str:
    return ".*?".join(re.escape(part) for part in line.split("..."))


def shown_pattern(shown: list[str]) -> re.Pattern[str]:
    """A regex for normalised shown lines: ``...`` is a wildcard (see above)."""
    parts = []
    for line in shown:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(_line_pattern(line) + r"\n")
    return re.compile("".join(parts))


def matches(shown: list[str], actual: list[str]) -> bool:
    """True when the normalised ``actual`` lines are what ``shown`` shows."""
    text = "".join(line + "\n" for line in actual)
    return shown_pattern(shown).fullmatch(text) is not None


def contains_in_order(expected: list[str], actual: list[str]) -> list[str]:
    """The ``expected`` lines (with ``...``) not found in ``actual`` in that order."""
    missing, position = [], 0
    for line in expected:
        pattern = re.compile(_line_pattern(line))
        for index in range(position, len(actual)):
            if pattern.fullmatch(actual[index]):
                position = index + 1
                break
        else:
            missing.append(line)
    return missing


# -- running a page (in the subprocess) ----------------------------------------------

MARKER = "\x1edoc-unit {}\x1e"
_MARKER = re.compile("\n?\x1edoc-unit (\\d+)\x1e\n")


def split_output(output: str) -> dict[int, str]:
    """The run's merged stdout/stderr, split into the output of each unit."""
    pieces = _MARKER.split(output)
    return {int(pieces[i]): pieces[i + 1] for i in range(1, len(pieces) - 1, 2)}


def page_source(units: list[Unit]) -> str:
    """The page's units at their lines (for tracebacks and ``getsourcefile``)."""
    lines: list[str] = []
    for unit in units:
        code = unit.code.splitlines()
        while len(lines) < unit.line - 1:
            lines.append("")
        lines[unit.line - 1 :] = code
    return "\n".join(lines) + "\n"


class _Checker:
    """``__doc_check__``: records whether the values stated in comments hold."""

    def __init__(self, checks: list[dict[str, Any]]) -> None:
        self.checks = {check["line"]: check for check in checks}
        self.results: list[dict[str, Any]] = []

    def __call__(self, line: int, value: Any) -> None:
        check = self.checks[line]
        try:
            ok, detail = _holds(check, value)
        except Exception as error:  # a check that cannot be evaluated fails
            ok, detail = False, f"{type(error).__name__}: {error}"
        self.results.append({"line": line, "ok": ok, "detail": detail})


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def _holds(check: dict[str, Any], value: Any) -> tuple[bool, str]:
    kind, text = check["kind"], check["text"]
    if kind == "true":
        return bool(value), f"{text} is {value!r}"
    if kind == "equal":
        expected = ast.literal_eval(text)
        return _plain(value) == expected, f"{check['target']} is {value!r}"
    import numpy as np

    if kind == "array":
        expected = eval(text, {"array": np.array, "nan": np.nan})
        same = np.array_equal(np.asarray(value), expected, equal_nan=True)
        return bool(same), f"{check['target']} is {value!r}"
    match = _SHAPE.fullmatch(text)
    assert match is not None
    shape, dtype = ast.literal_eval(match.group(1)), match.group(2)
    ok = np.shape(value) == shape and (dtype is None or str(value.dtype) == dtype)
    got = f"shape {np.shape(value)}, dtype {getattr(value, 'dtype', None)}"
    return ok, f"{check['target']} has {got}"


def _instrument(tree: ast.Module, checks: list[dict[str, Any]]) -> None:
    """Insert ``__doc_check__(line, value)`` after each checked statement."""
    wanted = {c["line"]: c for c in checks if c["kind"] != "printed"}
    inner = _inside_function(tree)
    for node in ast.walk(tree):
        if id(node) in inner:
            continue
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for statement in list(body):
                check = wanted.get(getattr(statement, "end_lineno", None))
                if check is None or hasattr(statement, "body"):
                    continue
                if check["kind"] == "true":
                    value = ast.parse(check["text"], mode="eval").body
                else:
                    value = ast.Name(check["target"], ast.Load())
                call = ast.Expr(
                    ast.Call(
                        ast.Name("__doc_check__", ast.Load()),
                        [ast.Constant(check["line"]), value],
                        [],
                    )
                )
                ast.copy_location(call, statement)
                ast.fix_missing_locations(call)
                body.insert(body.index(statement) + 1, call)


def _set_env(env: dict[str, str | None]) -> dict[str, str | None]:
    import dask.config

    previous = {name: os.environ.get(name) for name in env}
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    dask.config.refresh()
    return previous


def _leftover_client() -> str | None:
    """Close a default client the page left running; its repr, or None."""
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return None
    text = repr(client)
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()
    return text


def _separate_workers(log: Path) -> int:
    """Keep this process's output on stdout, send that of its children to ``log``.

    Worker processes of a local cluster inherit file descriptors 1 and 2: what
    they print (also the calls' own output, which acme tees there) arrives in
    any order, so it is kept apart. Returns the descriptor of the real stdout.
    """
    main = os.dup(1)
    children = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(children, 1)
    os.dup2(children, 2)
    os.close(children)
    stream = io.TextIOWrapper(
        io.FileIO(main, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )
    sys.stdout = sys.stderr = stream
    return main


def run_page(plan: dict[str, Any], result_path: Path) -> None:
    """Run the units of ``plan`` in order; write what happened to ``result_path``."""
    script = Path(plan["script"])
    sys.path[0] = str(script.parent)  # as for a script in that folder
    out = _separate_workers(Path(plan["children_log"]))
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(script)}
    results: list[dict[str, Any]] = []
    failed = False
    for index, unit in enumerate(plan["units"]):
        os.write(out, ("\n" + MARKER.format(index) + "\n").encode())
        outcome: dict[str, Any] = {"status": "not run", "checks": []}
        results.append(outcome)
        if failed or unit["skip"]:
            outcome["status"] = "skipped" if unit["skip"] else "not run"
            continue
        checker = _Checker(unit["checks"])
        namespace["__doc_check__"] = checker
        previous = _set_env(unit["env"]) if unit["env"] else {}
        start = time.monotonic()
        try:
            source = "\n" * (unit["line"] - 1) + unit["code"]
            if unit["mode"] == "single":
                code = compile(source, str(script), "single")
            else:
                tree = ast.parse(source, str(script))
                _instrument(tree, unit["checks"])
                code = compile(tree, str(script), "exec")
            exec(code, namespace)
            outcome["status"] = "ok"
        except BaseException as error:
            outcome["status"] = "error"
            frames = error.__traceback__.tb_next if error.__traceback__ else None
            lines = traceback.format_exception(type(error), error, frames)
            outcome["error"] = "".join(lines)
            failed = True
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            outcome["seconds"] = round(time.monotonic() - start, 2)
            outcome["checks"] = checker.results
            if previous:
                _set_env(previous)
        result_path.write_text(json.dumps({"units": results}))
    os.write(out, ("\n" + MARKER.format(len(plan["units"])) + "\n").encode())
    leftover = _leftover_client()
    result_path.write_text(json.dumps({"units": results, "leftover_client": leftover}))


def unit_plan(unit: Unit, skip: bool) -> dict[str, Any]:
    """What the subprocess needs of ``unit``."""
    env: dict[str, str | None] = dict(unit.env)
    if unit.slurm:
        env["DASK_ACME__CLUSTER"] = None
    return {
        "line": unit.line,
        "code": unit.code,
        "mode": unit.mode,
        "skip": skip,
        "env": env,
        "checks": [dataclasses.asdict(check) for check in unit.checks],
    }


if __name__ == "__main__":
    run_page(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
