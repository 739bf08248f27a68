"""The rules of a site profile, one at a time (``acme.cluster._site``; no SLURM needed).

Log folder, port pinning, derived cores and the ``partition="auto"`` rule.
"""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

import acme.config
import acme.shared
from acme.cluster._options import JobExtra, SlurmOptions
from acme.cluster._site import _auto_partition, _cores, _log_option, _ports


def test_log_folder_only_on_the_sites_file_system(tmp_path, acme_log):
    """The site's SLURM log folder is created only where its marker folder exists."""
    profile = {
        "marker-dir": str(tmp_path / "missing"),
        "slurm-log-dir": str(tmp_path / "missing" / "slurm" / "{user}_{timestamp}"),
    }
    given = JobExtra(("--begin=now",))
    assert _log_option(profile, given) == given
    assert not (tmp_path / "missing").exists()
    assert "does not exist on this host" in acme_log.text

    profile["marker-dir"] = str(tmp_path)
    extra = _log_option(profile, JobExtra())
    [option] = extra.options
    assert option.startswith(f"--output={tmp_path}/missing/")
    assert option.endswith("/slurm-%j.out")
    assert extra.output_dir == Path(option.removeprefix("--output=")).parent
    assert (tmp_path / "missing" / "slurm").is_dir()
    own = JobExtra(("--output=/x/y.out",), Path("/x"))
    assert _log_option(profile, own) == own


def test_ports_pinned_only_where_the_site_marker_exists(tmp_path):
    """CoBIC: scheduler on a free port in the range, workers and nannies pinned."""
    profile = dict(acme.config.get("sites.bic"))
    profile["port-marker"] = str(tmp_path / "squeue_summary")
    profile["interface-address"] = "127.0.0.1"
    options = SlurmOptions("8GBSx86", ("8GBSx86",), "8GBSx86", n_workers=1)
    assert _ports(profile, options) == (options, None)

    (tmp_path / "squeue_summary").write_text("")
    pinned, port = _ports(profile, options)
    assert 60001 <= port <= 63000
    assert pinned.scheduler_options["port"] == port
    assert pinned.scheduler_options["interface"] == acme.shared.get_interface(
        "127.0.0.1"
    )
    assert pinned.worker_extra_args == (
        "--worker-port=60001:63000",
        "--nanny-port=60001:63000",
    )
    assert _ports(dict(acme.config.get("sites.esi")), options) == (options, None)


@pytest.mark.parametrize(
    ("rule", "memory", "def_mem", "cores"),
    [
        ("floor", 8000, 2000, 4),
        ("floor", 8000, None, 8),  # DefMemPerCPU unknown: 1000 MB per core
        ("floor", 8000, 500, 8),  # at least 1000 MB per core
        ("floor", 500, 2000, 1),
        ("round", 8000, 3000, 3),
        ("round", 1000, 3000, 1),
        ("round", 8000, None, 1),
    ],
)
def test_derived_cores(rule, memory, def_mem, cores):
    assert _cores({"cores-rule": rule}, memory, def_mem) == cores


@pytest.mark.parametrize(
    ("names", "need", "chosen"),
    [
        (["8GBS", "16GBL", "debug"], 1, "8GBS"),
        (["8GBS", "16GBL", "debug"], 12, "16GBS"),  # tie between 8 and 16: larger
        (["8GBS", "16GBL", "32GBL"], 20, "16GBS"),
        (["8GBXS", "24GBL"], 30, "24GBS"),
    ],
)
@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 rule")
def test_esi_auto_rule_on_x86(names, need, chosen, acme_log):
    import logging

    from acme import _logging

    _logging.configure(logging.INFO)  # as the public set-up functions do
    profile = acme.config.get("sites.esi")
    assert _auto_partition(profile, names, need) == chosen
    assert "Automatic SLURM partition selection is experimental" in acme_log.text
    assert (
        f"Picked partition {chosen} based on estimated memory consumption of {need} GB"
        in acme_log.text
    )
