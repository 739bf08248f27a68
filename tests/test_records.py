"""What each call did (``ParallelMap.records``) on real LocalClusters.

Output capture per call, with several threads per worker; run times; the
summary line; failed calls' output in the ``ComputationError``.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
import time
from array import array
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

from acme import ParallelMap
from acme.errors import AcmeValueError, ComputationError
from acme.results import load_records
from acme.results._record import Measurements
from acme.results.records import Tally, summary


def chatty(x, lines):
    for line in range(lines):
        print(f"call {x} line {line}")  # noqa: T201
        time.sleep(0.01)  # the other call prints meanwhile
    print(f"call {x} to stderr", file=sys.stderr)  # noqa: T201
    return x


def napping(x):
    time.sleep(0.3)
    return x


def logs_and_fails(x):
    print(f"about to fail on {x}")  # noqa: T201
    logging.getLogger("user.code").warning("a root logger record of %d", x)
    raise ValueError(f"bad {x}")


def allocate_200_mb(x):
    import numpy as np

    block = np.ones(200 * 10**6 // 8)  # touched: resident
    time.sleep(0.1)  # sampled meanwhile
    return float(block[0]) + x


def allocate_mb(mb, hold):
    import numpy as np

    block = np.ones(mb * 10**6 // 8)  # touched: resident
    time.sleep(hold)
    return float(block[0])


def stdout_type(x):
    return type(sys.stdout).__name__


@pytest.fixture
def two_threads():
    """One worker process with two threads: calls run side by side in it."""
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0"
    )
    with Client(cluster) as client:
        yield client
    cluster.close()


def test_output_of_calls_running_side_by_side_never_mixes(two_threads):
    with (
        dask.config.set({"acme.batch-size": 1}),  # one task per call: in parallel
        ParallelMap(chatty, [0, 1, 2, 3], 30, write_worker_results=False) as pmap,
    ):
        assert pmap.records == []
        assert pmap.compute() == [0, 1, 2, 3]
        records = pmap.records
    assert [r.index for r in records] == [0, 1, 2, 3]
    starts = sorted((r.start, r.end) for r in records)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(starts)), (
        "no two calls overlapped"
    )
    for record in records:
        expected = [f"call {record.index} line {i}" for i in range(30)]
        expected.append(f"call {record.index} to stderr")
        assert record.output.splitlines() == expected
        assert record.status == "done"


def test_a_record_says_how_long_and_where(process_client, acme_log):
    with ParallelMap(napping, [0, 1], write_worker_results=False) as pmap:
        pmap.compute()
    workers = set(process_client.run(lambda: 0))  # the worker addresses
    pids = set(process_client.run(__import__("os").getpid).values())
    for record in pmap.records:
        assert record.seconds >= 0.3
        assert record.end - record.start == pytest.approx(record.seconds)
        assert record.cpu_seconds < 0.2  # it slept
        assert record.worker in workers
        assert record.pid in pids
        assert record.host
        assert record.job is None  # not on SLURM
    assert "Calls: 2 done; run time median 30" in acme_log.text  # 30x ms


def test_a_record_has_the_peak_memory_of_its_call(process_client, acme_log):
    with ParallelMap(allocate_200_mb, [0], write_worker_results=False) as pmap:
        pmap.compute()
    [record] = pmap.records
    assert record.peak_mb >= 200
    assert record.memory_limit_mb > record.peak_mb  # LocalCluster's default limit
    assert "; peak memory 0.2" in acme_log.text


def test_a_peak_below_the_workers_earlier_peak_is_sampled(process_client):
    # one task runs both calls on one worker: the first raises the process's
    # peak, so the second's 200 MB can only be seen by sampling while it runs
    # (the first holds its 400 MB for a while: the sampler sees them, and the
    # second's record must not start from that sample, taken before they were freed)
    with (
        dask.config.set({"acme.batch-size": 2}),
        ParallelMap(
            allocate_mb, [400, 200], [0.3, 0.6], write_worker_results=False
        ) as pmap,
    ):
        pmap.compute()
    first, second = pmap.records
    assert first.worker == second.worker
    assert first.peak_mb >= 400
    assert 200 <= second.peak_mb < first.peak_mb - 150


def test_long_output_keeps_its_tail(process_client):
    with (
        dask.config.set({"acme.capture.max-chars": 100}),
        ParallelMap(chatty, [0], 50, write_worker_results=False) as pmap,
    ):
        pmap.compute()
    [record] = pmap.records
    head, _, tail = record.output.partition("\n")
    assert head.startswith("[... ") and head.endswith(" characters cut ...]")
    assert len(tail) == 100
    assert tail.endswith("call 0 line 49\ncall 0 to stderr\n")


def test_a_failed_calls_output_is_in_the_error(process_client):
    with (
        ParallelMap(logs_and_fails, [3], write_worker_results=False) as pmap,
        pytest.raises(ComputationError) as info,
    ):
        pmap.compute()
    [record] = pmap.records
    assert record.status == "failed"
    assert record.output == (
        "about to fail on 3\nWARNING:user.code:a root logger record of 3\n"
    )
    message = str(info.value)
    assert "Output of call 0 (all of it):\nabout to fail on 3\n" in message


def test_capture_off_leaves_the_streams_alone(process_client):
    with (
        dask.config.set({"acme.capture": False}),
        ParallelMap(stdout_type, [0, 1], write_worker_results=False) as pmap,
    ):
        kinds = pmap.compute()
    assert "_Dispatch" not in kinds
    assert {r.output for r in pmap.records} == {""}
    assert all(r.seconds is not None for r in pmap.records)  # still timed


def test_a_bad_capture_setting_is_refused(process_client):
    with (
        dask.config.set({"acme.capture.max-chars": -1}),
        ParallelMap(napping, [0], write_worker_results=False) as pmap,
        pytest.raises(ValueError, match=r"config `acme\.capture` has to be"),
    ):
        pmap.compute()


def test_debug_runs_leave_output_alone(client, capsys):
    with ParallelMap(chatty, [0], 1, write_worker_results=False) as pmap:
        pmap.compute(debug=True)
    assert "call 0 line 0" in capsys.readouterr().out  # printed live
    [record] = pmap.records
    assert (record.status, record.output, record.seconds) == ("done", "", None)


def prints_and_fails_once(x, state):
    print(f"run of {x}")  # noqa: T201
    if x % 2 and not (Path(state) / "fixed").exists():
        raise ValueError(f"odd {x}")
    return x


def quiet(x):
    return x


FIELDS = ("index", "attempt", "start", "seconds", "cpu_seconds", "host", "worker")


def test_records_are_kept_beside_the_results(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(chatty, [0, 1, 2], 2, output_dir=str(out)) as pmap:
        pmap.compute()
    kept = load_records(out)
    for record, read in zip(pmap.records, kept, strict=True):
        assert [getattr(read, f) for f in FIELDS] == [
            getattr(record, f) for f in FIELDS
        ]
        assert read.peak_mb == pytest.approx(record.peak_mb)
        assert (read.status, read.attempt, read.job) == ("done", 1, None)
        assert read.output == record.output
        assert read.output.startswith(f"call {read.index} line 0\n")
    lines = (out / ".acme_chatty.output").read_text().splitlines()
    calls = sorted((item["call"], item["attempt"]) for item in map(json.loads, lines))
    assert calls == [(0, 1), (1, 1), (2, 1)]


def test_calls_that_print_nothing_leave_no_output_file(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(quiet, [0, 1], output_dir=str(out)) as pmap:
        pmap.compute()
    assert not (out / ".acme_quiet.output").exists()
    assert [(r.status, r.output) for r in load_records(out)] == [("done", "")] * 2


def test_records_survive_a_resume(process_client, tmp_path):
    out, state = tmp_path / "out", tmp_path / "state"
    state.mkdir()
    with ParallelMap(
        prints_and_fails_once, list(range(4)), str(state), output_dir=str(out)
    ) as pmap:
        with pytest.raises(ComputationError):
            pmap.compute()
    first = pmap.records
    assert [(r.status, r.attempt) for r in first] == [("done", 1), ("failed", 1)] * 2
    assert [r.status for r in load_records(out)] == ["done", "failed"] * 2
    (state / "fixed").touch()
    with ParallelMap(
        prints_and_fails_once,
        list(range(4)),
        str(state),
        output_dir=str(out),
        resume=True,
    ) as pmap:
        pmap.compute()
    again = pmap.records
    assert [(r.status, r.attempt) for r in again] == [("reused", 1), ("done", 2)] * 2
    for before, after in zip(first[::2], again[::2], strict=True):  # as first run
        assert (after.start, after.seconds, after.pid) == (
            before.start,
            before.seconds,
            before.pid,
        )
    assert [r.output for r in again] == [f"run of {i}\n" for i in range(4)]
    kept = load_records(out)
    assert [(r.status, r.attempt, r.output) for r in kept] == [
        ("done", 1 + i % 2, f"run of {i}\n") for i in range(4)
    ]
    assert kept[1].start > first[1].start  # the second attempt's record


def test_reading_records_names_what_is_missing(tmp_path):
    with pytest.raises(AcmeValueError, match=r"`folder` .* holds no run of acme"):
        load_records(tmp_path)
    for name in ("f", "g"):
        (tmp_path / f".acme_{name}.json").write_text('{"calls": []}')
    with pytest.raises(AcmeValueError, match=r"`name` is needed: .* runs of f, g"):
        load_records(tmp_path)
    with pytest.raises(AcmeValueError, match="`name` 'h' names no run"):
        load_records(tmp_path, name="h")
    assert load_records(tmp_path, name="g") == []


def measured_batch(peak_mb, limit_mb):
    batch = Measurements([0, 1], array("d", [0.0, 0.2, 0.1, 1e5, 0.0, 0.4, 0.3, 0.0]))
    batch.numbers[3] = peak_mb * 1e6
    batch.where = ("host", "tcp://worker", 7, None, limit_mb)
    return batch


def test_the_summary_suggests_less_memory_only_when_it_is_less():
    def line(peak_mb, limit_mb):
        batch = measured_batch(peak_mb, limit_mb)
        return summary(Tally(2, [batch], {0: 1, 1: 1}, {0, 1}))

    text = line(110, 12000)
    assert text == (
        "Calls: 2 done; run time median 300 ms, longest 400 ms (call 1); "
        "peak memory 0.11 GB of 12 GB per worker: mem_per_worker='1GB' would fit"
    )
    assert line(110, 1000).endswith("peak memory 0.11 GB of 1 GB per worker")
    assert line(110, 1024).endswith("of 1 GB per worker")  # '1GB' saves nothing
    assert line(110, 2000).endswith(
        "of 2 GB per worker: mem_per_worker='1GB' would fit"
    )
    assert line(3000, 8000).endswith("of 8 GB per worker")  # not far off
