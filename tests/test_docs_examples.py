"""Every Python example of README.md, docs/*.rst and examples/ runs and prints what
the page shows.

``doc_examples.py`` collects the blocks and describes the conventions: the
comments that exempt a block or mark it as needing SLURM, the values stated in
trailing comments, and the normalisation of shown output. Each page runs once, in
a fresh interpreter inside a temporary folder; each block is then one test, named
``<page>:<line>``, that checks it ran, that the values its comments state hold,
and that the output shown below it is what it printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import doc_examples as docs
import pytest
from slurm_helpers import jobs_below, slurm_reachable, wait_gone

REPO = docs.REPO
PAGES = {page.relative_to(REPO).as_posix(): docs.collect(page) for page in docs.pages()}
PAGES = {path: units for path, units in PAGES.items() if units}
UNITS = [unit for units in PAGES.values() for unit in units]
RUNNABLE = [unit for unit in UNITS if unit.not_run is None]
EXEMPT = [unit for unit in UNITS if unit.not_run is not None]
# blocks that cannot run anywhere but on a site's own cluster; keep this small
MAX_EXEMPT = 2
PAGE_TIMEOUT = {"local": 300, "slurm": 480}


def _param(unit: docs.Unit) -> Any:
    marks = [pytest.mark.slurm] if unit.slurm else []
    return pytest.param(unit, id=unit.name, marks=marks)


def _page_param(path: str) -> Any:
    runnable = [unit for unit in PAGES[path] if unit.not_run is None]
    only_slurm = bool(runnable) and all(unit.slurm for unit in runnable)
    return pytest.param(path, id=path, marks=[pytest.mark.slurm] if only_slurm else [])


def _acme_folders() -> set[Path]:
    """``ACME_*`` folders where examples could leave them in the checkout."""
    places = [REPO, REPO / "docs", REPO / "examples", REPO / "tests"]
    return {path for place in places for path in place.glob("ACME_*")}


@dataclasses.dataclass
class PageRun:
    """What running one page gave: per unit its outcome and its output."""

    folder: Path
    returncode: int | None
    output: str
    outcomes: list[dict[str, Any]]
    pieces: dict[int, str]
    leftover_client: str | None
    leftover_jobs: list[str]
    new_in_checkout: list[str]
    units: list[docs.Unit]

    @property
    def folders(self) -> dict[str, str]:
        return {
            "cwd": str(self.folder / "run"),
            "home": str(self.folder / "home"),
            "repo": str(REPO),
            "python": sys.executable,
        }

    def outcome(self, unit: docs.Unit) -> dict[str, Any]:
        index = self.units.index(unit)
        if index < len(self.outcomes):
            return self.outcomes[index]
        return {"status": "not run", "checks": []}

    def printed(self, unit: docs.Unit) -> str:
        return self.pieces.get(self.units.index(unit), "")


def _leftover_jobs(folder: Path) -> list[str]:
    """Our jobs submitted from ``folder`` that are still there, cancelled."""
    left = wait_gone([job["id"] for job in jobs_below(folder)], timeout=30)
    if left:
        subprocess.run(["scancel", *left], capture_output=True, timeout=30)
    return left


def run_page(path: str, folder: Path, slurm: bool) -> PageRun:
    """Run the units of page ``path`` in a fresh interpreter inside ``folder``."""
    units = PAGES[path]
    run, home, tmp = folder / "run", folder / "home", folder / "tmp"
    for place in (run, home, tmp):
        place.mkdir(parents=True)
    script = run / (path.replace("/", "_").replace(".", "_") + ".py")
    script.write_text(docs.page_source(units))
    plan = {
        "script": str(script),
        "children_log": str(folder / "children.log"),
        "units": [
            docs.unit_plan(
                unit, skip=unit.not_run is not None or (unit.slurm and not slurm)
            )
            for unit in units
        ],
    }
    (folder / "plan.json").write_text(json.dumps(plan))
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        PYTHONUNBUFFERED="1",
        DASK_ACME__CLUSTER="local",
    )
    before = _acme_folders()
    uses_slurm = slurm and any(unit.slurm for unit in units)
    # its own session, so that a page that hangs goes with all its processes
    process = subprocess.Popen(
        [sys.executable, docs.__file__, folder / "plan.json", folder / "result.json"],
        cwd=run,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        raw, _ = process.communicate(
            timeout=PAGE_TIMEOUT["slurm" if uses_slurm else "local"]
        )
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raw, _ = process.communicate()
        returncode = None
    # bytes, not text=True: universal newlines would make every "\r" a line end
    output = raw.decode("utf-8", "backslashreplace")
    result_file = folder / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    new = sorted(str(p.relative_to(REPO)) for p in _acme_folders() - before)
    return PageRun(
        folder=folder,
        returncode=returncode,
        output=output,
        outcomes=result.get("units", []),
        pieces=docs.split_output(output),
        leftover_client=result.get("leftover_client"),
        leftover_jobs=_leftover_jobs(run) if uses_slurm else [],
        new_in_checkout=new,
        units=units,
    )


@pytest.fixture(scope="module")
def page_runs(tmp_path_factory):
    """``page_runs(path)``: the run of that page, made on first use."""
    runs: dict[str, PageRun] = {}
    slurm = slurm_reachable()

    def get(path: str) -> PageRun:
        if path not in runs:
            folder = tmp_path_factory.mktemp(path.replace("/", "_"))
            runs[path] = run_page(path, folder, slurm)
        return runs[path]

    return get


def _why(run: PageRun, unit: docs.Unit, outcome: dict[str, Any]) -> str:
    if outcome["status"] == "error":
        return (
            f"{unit.name} raised:\n{outcome['error']}\n(the output of its worker "
            f"processes is in {run.folder / 'children.log'})"
        )
    if run.returncode is None:
        return f"{unit.path} did not finish in time; its output:\n{run.output[-4000:]}"
    failed = [
        other.name
        for other, other_outcome in zip(run.units, run.outcomes, strict=False)
        if other_outcome["status"] == "error"
    ]
    return (
        f"{unit.name} was not run ({outcome['status']}); failed before it: {failed}; "
        f"exit code {run.returncode}; output:\n{run.output[-4000:]}"
    )


# -- the examples -------------------------------------------------------------------


@pytest.mark.timeout(600)
@pytest.mark.parametrize("unit", [_param(unit) for unit in RUNNABLE])
def test_block_runs_and_prints_what_the_page_shows(unit, page_runs):
    run = page_runs(unit.path)
    outcome = run.outcome(unit)
    assert outcome["status"] == "ok", _why(run, unit, outcome)
    bad = [check for check in outcome["checks"] if not check["ok"]]
    assert not bad, f"{unit.name}: values stated in comments do not hold: {bad}"
    wanted = {c.line for c in unit.checks if c.kind != "printed"}
    assert {check["line"] for check in outcome["checks"]} == wanted, (
        f"{unit.name}: statements with stated values did not run"
    )
    actual = docs.normalise(run.printed(unit), run.folders)
    printed = [check.text for check in unit.checks if check.kind == "printed"]
    missing = docs.contains_in_order(docs.normalise("\n".join(printed)), actual)
    assert not missing, f"{unit.name}: printed lines not in its output: {missing}"
    if unit.shown is not None:
        shown = docs.normalise(unit.shown)
        assert docs.matches(shown, actual), (
            f"{unit.path}:{unit.shown_line} shows (normalised):\n"
            + "\n".join(shown)
            + f"\n\nbut {unit.name} printed (normalised):\n"
            + "\n".join(actual)
        )


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", [_page_param(path) for path in PAGES])
def test_page_leaves_nothing_behind(path, page_runs):
    run = page_runs(path)
    assert run.returncode == 0, (
        f"{path}: exit code {run.returncode}\n{run.output[-4000:]}"
    )
    assert run.leftover_client is None, f"{path} left a client running"
    assert not run.leftover_jobs, f"{path} left SLURM jobs: {run.leftover_jobs}"
    assert not run.new_in_checkout, f"{path} wrote into the checkout"


@pytest.mark.parametrize("script", docs.examples(), ids=lambda p: p.name)
def test_example_script_runs(script, tmp_path):
    before = _acme_folders()
    env = dict(os.environ, HOME=str(tmp_path), TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip(), "the example printed nothing"
    assert _acme_folders() == before


# -- the collection itself ------------------------------------------------------------


def test_every_page_with_python_is_collected():
    for page in docs.pages():
        text = page.read_text()
        has_python = "code-block:: python" in text or "```python" in text
        assert has_python == (page.relative_to(REPO).as_posix() in PAGES), page
    assert "README.md" in PAGES
    assert len(UNITS) >= 40


def test_exemptions_are_few_and_explained():
    assert len(EXEMPT) <= MAX_EXEMPT, [unit.name for unit in EXEMPT]
    for unit in EXEMPT:
        assert len(unit.not_run.split()) >= 3, f"{unit.name}: give a reason"
        compile(unit.code, unit.name, "exec")


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_scripts_guard_their_clusters(unit):
    lines = docs.unguarded_cluster_calls(unit.code)
    assert not lines, (
        f"{unit.name}: lines {[unit.line + n - 1 for n in lines]} may start a cluster "
        'outside `if __name__ == "__main__":`; worker processes would run them again'
    )


def test_literal_blocks_are_not_code():
    """A ``::`` block that is Python must be a code-block (or a doctest) to be run."""
    starts = ("import ", "from ", "def ", "with ", "for ", "print(", "if ")
    checked, python = 0, []
    for page in sorted((REPO / "docs").glob("*.rst")):
        for line, code in docs.literal_blocks(page):
            checked += 1
            try:
                compile(code, page.name, "exec")
            except SyntaxError:
                continue
            if any(row.lstrip().startswith(starts) for row in code.splitlines()):
                python.append(f"docs/{page.name}:{line}")
    assert checked >= 10
    assert not python, f"Python in literal blocks, never run: {python}"


RST_SAMPLE = """\
Title
=====

.. code-block:: python

   x = [1, 2]   # [1, 2]
   print(len(x))   # the length

prints::

   2

Other text.

.. code-block:: python

   print(len(x))   # 2

.. not-run: needs the ESI cluster

.. code-block:: python

   esi_cluster_setup(partition="8GBXS")

>>> 1 + 1
2
"""


def test_collector_reads_blocks_outputs_markers_and_doctests():
    raws = docs._rst_blocks(RST_SAMPLE)
    units = docs._units("docs/sample.rst", RST_SAMPLE, raws)
    lines = [(u.line, u.mode) for u in units]
    assert lines == [(6, "exec"), (17, "exec"), (23, "exec"), (25, "single")]
    first, second, exempt, doctest_unit = units
    # below a block that shows its output, comments on print lines are prose
    assert first.shown == "2" and first.shown_line == 11
    assert [(c.line, c.kind, c.text) for c in first.checks] == [(6, "equal", "[1, 2]")]
    assert second.shown is None
    assert [(c.line, c.kind, c.text) for c in second.checks] == [(17, "printed", "2")]
    assert exempt.not_run == "needs the ESI cluster" and exempt.shown is None
    assert doctest_unit.code == "1 + 1\n" and doctest_unit.shown == "2\n"


def test_markdown_fences_and_markers():
    text = "# T\n\n<!-- runs-on: slurm -->\n```python\nx = 1\n```\n\n```bash\nls\n```\n"
    units = docs._units("R.md", text, docs._markdown_blocks(text))
    assert [(u.line, u.code, u.slurm) for u in units] == [(5, "x = 1", True)]


def test_marker_without_block_is_refused():
    with pytest.raises(ValueError, match="not-run comment not followed by a block"):
        docs._rst_blocks(".. not-run: a reason here\n\nSome text.\n")


def test_normalisation_of_run_dependent_values():
    shown = docs.normalise(
        "ACME > ANNOUNCE < This is ACME v. 2026.12.0\n"
        "ACME - INFO - Results have been saved to "
        "/tmp/acmedocs/quickstart/ACME_20261126-202718-834825/f.h5\n"
        "ACME - INFO - Successfully shut down LocalCluster hosted on "
        "tls://127.0.0.1:46395 containing 2 workers\n"
        "0 done 0.30 s 'napping on 0\\n'\n"
        "['#SBATCH --mem=1900M', ...]\n"
    )
    actual = docs.normalise(
        "ACME > ANNOUNCE < This is ACME v. 2027.1.0\n"
        "\r  0%|          | 0/4 [00:00<?, ?it/s]\r100%|##| 4/4 [00:00<00:00, 9.1it/s]\n"
        "ACME - INFO - Results have been saved to "
        "/t/run/ACME_20270101-000000-000001/f.h5\n\n"
        "ACME - INFO - Successfully shut down LocalCluster hosted on "
        "tls://127.0.0.1:5 containing 4 workers\n"
        "0 done 0.31 s 'napping on 0\\n'\n"
        "['#SBATCH --mem=1900M', '/usr/bin/python -m distributed']\n",
        {"cwd": "/t/run"},
    )
    assert docs.matches(shown, actual), (shown, actual)
    assert not docs.matches(shown, [*actual[:-1], "['#SBATCH --mem=1000M']"])


def test_ellipsis_line_matches_any_number_of_lines():
    assert docs.matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert docs.matches(["a", "...", "d"], ["a", "d"])
    assert not docs.matches(["a", "d"], ["a", "b", "d"])


def test_unguarded_cluster_start_is_found():
    code = (
        "from acme import ParallelMap, local_cluster_setup\n"
        "def f(x):\n    return x\n"
        "client = local_cluster_setup(n_workers=2)\n"
        'if __name__ == "__main__":\n'
        "    ParallelMap(f, [1, 2])\n"
    )
    assert docs.unguarded_cluster_calls(code) == [4]
    assert docs.unguarded_cluster_calls(code.replace("client =", "# client =")) == []


def test_runner_checks_stated_values_and_doctest_output(tmp_path):
    text = (
        "T\n=\n\n>>> x = [1, 2]\n>>> x\n[1, 2]\n\n.. code-block:: python\n\n"
        "   y = x + [3]   # [1, 2, 3]\n   z = 5   # 6\n   y.append(4)   # len(y) == 5\n"
    )
    units = docs._units("s.rst", text, docs._rst_blocks(text))
    script = tmp_path / "s.py"
    script.write_text(docs.page_source(units))
    plan = {
        "script": str(script),
        "children_log": str(tmp_path / "children.log"),
        "units": [docs.unit_plan(unit, skip=False) for unit in units],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    done = subprocess.run(
        [sys.executable, docs.__file__, "plan.json", "result.json"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    pieces = docs.split_output(done.stdout.decode())
    assert [units[i].shown for i in (0, 1)] == ["", "[1, 2]\n"]
    assert [pieces[0], pieces[1]] == ["", "[1, 2]\n"]
    outcomes = json.loads((tmp_path / "result.json").read_text())["units"]
    assert [o["status"] for o in outcomes] == ["ok", "ok", "ok"]
    assert [(c["line"], c["ok"]) for c in outcomes[2]["checks"]] == [
        (10, True),
        (11, False),
        (12, False),
    ]
