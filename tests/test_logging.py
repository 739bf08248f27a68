"""The "ACME" logger, its handlers, line formats and log files (guide, "Logging")."""

from __future__ import annotations

import importlib.util
import logging
import logging.handlers
import re
import sys

import pytest

from acme import ParallelMap, _logging, cluster_cleanup
from acme.errors import AcmeTypeError

ANNOUNCE_LINE = "ACME > ANNOUNCE < This is ACME v. 2026.12.0"
MEMORY_WARNING = "`write_worker_results` is `False` and `taskID` is not a keyword"
LOG_NAME = re.compile(r"ACME_(?P<f>.+)_\d{8}-\d{6}\.log")


def f(x, y=2):
    return x * y


def g(x):
    return x + 1


def _acme_logger() -> logging.Logger:
    return logging.getLogger("ACME")


def _streams(logger: logging.Logger) -> list[logging.Handler]:
    return [
        h
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler)
        and not isinstance(h, logging.FileHandler)
    ]


def _buffers(logger: logging.Logger) -> list[logging.handlers.MemoryHandler]:
    return [h for h in logger.handlers if isinstance(h, logging.handlers.MemoryHandler)]


def _from_source(code: str, name: str):
    """A function whose source is not a file, so its output base is the cwd."""
    namespace: dict = {}
    exec(code, namespace)
    return namespace[name]


# -- handlers and levels --------------------------------------------------------------


def test_constructor_installs_exactly_two_handlers(client):
    with ParallelMap(f, [1, 2], write_worker_results=False):
        logger = _acme_logger()
        assert len(logger.handlers) == 2
        assert len(_streams(logger)) == 1
        (buffer,) = _buffers(logger)
        assert buffer.capacity == 1000
        assert buffer.target is None


def test_repeated_constructors_keep_two_handlers(client):
    for _ in range(3):
        with ParallelMap(f, [1, 2], write_worker_results=False):
            pass
    logger = _acme_logger()
    assert len(logger.handlers) == 2
    assert len(_streams(logger)) == 1
    assert len(_buffers(logger)) == 1


def test_stream_handler_writes_to_stderr(client, capsys):
    with ParallelMap(f, [1, 2], write_worker_results=False):
        (stream,) = _streams(_acme_logger())
        assert stream.stream is sys.stderr


@pytest.mark.parametrize(
    ("verbose", "level"),
    [(None, logging.INFO), (True, logging.DEBUG), (False, logging.WARNING)],
)
def test_verbose_sets_logger_and_handler_levels(client, verbose, level):
    with ParallelMap(f, [1, 2], write_worker_results=False, verbose=verbose):
        logger = _acme_logger()
        assert logger.level == level
        assert [h.level for h in logger.handlers] == [level, level]


def test_verbose_rejects_other_types(client):
    with pytest.raises(
        AcmeTypeError, match="`verbose` has to be `True`, `False` or `None`"
    ):
        ParallelMap(f, [1, 2], write_worker_results=False, verbose="yes")


def test_records_propagate_to_root_without_global_patching(client, caplog):
    caplog.set_level(logging.DEBUG)  # the capturing handler on the root logger
    with ParallelMap(f, [1, 2], write_worker_results=False):
        pass
    announce = [
        r for r in caplog.records if r.getMessage().startswith("This is ACME v.")
    ]
    assert len(announce) == 1
    assert announce[0].levelno == logging.INFO + 5
    assert announce[0].name.split(".")[0] == "ACME"
    assert logging.getLevelName(logging.INFO + 5) == "Level 25"
    assert not hasattr(logging.Logger, "announce")


# -- line formats ---------------------------------------------------------------------


def test_announce_and_info_lines(client, capsys):
    with ParallelMap(f, [1, 2], write_worker_results=False):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert ANNOUNCE_LINE in lines
    attaching = [line for line in lines if "Attaching to" in line]
    assert attaching == [
        f"ACME - INFO - Attaching to parallel computing client {client}"
    ]


def test_warning_line_names_the_function(client, capsys):
    with ParallelMap(f, [1, 2], write_worker_results=False):
        pass
    lines = [
        line for line in capsys.readouterr().err.splitlines() if MEMORY_WARNING in line
    ]
    assert len(lines) == 1
    assert re.match(r"ACME ! WARNING ! (<\w+>|\w+) `write_worker_results`", lines[0])


def test_debug_line_names_the_function(client, capsys):
    with ParallelMap(f, [1, 2], write_worker_results=False, n_workers=3, verbose=True):
        pass
    lines = [
        line for line in capsys.readouterr().err.splitlines() if "# DEBUG #" in line
    ]
    assert lines
    assert all(re.match(r"ACME # DEBUG # (<\w+>|\w+) \S", line) for line in lines)
    assert any("`n_workers`" in line for line in lines)


def test_info_lines_hidden_when_not_verbose(client, capsys):
    with ParallelMap(f, [1, 2], write_worker_results=False, verbose=False) as pmap:
        assert pmap.compute() == [2, 4]
    err = capsys.readouterr().err
    assert "ANNOUNCE" not in err
    assert "- INFO -" not in err
    assert "ACME ! WARNING !" in err


def test_no_colours_and_name_always_acme_without_tty(client, capsys):
    with ParallelMap(f, [1, 2], write_worker_results=False, verbose=True) as pmap:
        pmap.compute()
    lines = [line for line in capsys.readouterr().err.splitlines() if "ACME" in line]
    assert lines
    assert all(line.startswith("ACME ") for line in lines)
    assert all("\x1b[" not in line for line in lines)
    assert all(not line.startswith("ACME.") for line in lines)


def test_user_values_only_in_debug_records(client, capsys):
    marker = "SeCrEtVaLuE"
    with ParallelMap(
        f, [1, 2], y=f"{marker}-", write_worker_results=False, verbose=True
    ) as pmap:
        assert pmap.compute() == [f"{marker}-", f"{marker}-" * 2]
    for line in capsys.readouterr().err.splitlines():
        if marker in line:
            assert line.startswith("ACME # DEBUG #")


@pytest.mark.parametrize(
    ("level", "prefix"),
    [
        (logging.DEBUG, "ACME # DEBUG # <emit> "),
        (logging.INFO, "ACME - INFO - "),
        (logging.INFO + 5, "ACME > ANNOUNCE < "),
        (logging.WARNING, "ACME ! WARNING ! <emit> "),
        (logging.ERROR, "ACME | ERROR | <emit> "),
    ],
)
def test_formatter_line_per_level(capsys, level, prefix):
    _logging.configure(logging.DEBUG)

    def emit():
        _logging.get_logger("acme.some.module").log(level, "text %d", 42)

    emit()
    err = capsys.readouterr().err
    if "<" not in prefix:
        assert err == f"{prefix}text 42\n"
    else:
        # the function name is shown, bracketed or bare
        bare = prefix.replace("<emit>", "emit")
        assert err in (f"{prefix}text 42\n", f"{bare}text 42\n")


# -- _logging helpers -----------------------------------------------------------------


def test_get_logger_names_children_of_acme():
    assert _logging.get_logger("acme").name == "ACME"
    assert _logging.get_logger("acme.cluster.slurm").name == "ACME.cluster.slurm"
    assert _logging.get_logger("acme.cluster.slurm").parent is _acme_logger()


def test_level_for_maps_verbose():
    assert _logging.level_for(None) == logging.INFO
    assert _logging.level_for(True) == logging.DEBUG
    assert _logging.level_for(False) == logging.WARNING


def test_configure_is_idempotent(tmp_path):
    _logging.configure(logging.INFO)
    _logging.configure(logging.DEBUG, tmp_path / "a.log")
    _logging.configure(logging.WARNING)
    logger = _acme_logger()
    assert len(logger.handlers) == 2
    assert logger.level == logging.WARNING
    assert _logging.log_file() is None


def test_attach_file_sets_log_file(tmp_path):
    _logging.configure(logging.INFO, tmp_path / "a.log")
    assert _logging.log_file() == str(tmp_path / "a.log")
    _logging.get_logger("acme.x").info("buffered line")
    _logging.flush()
    assert (tmp_path / "a.log").read_text() == "ACME - INFO - buffered line\n"


def test_error_record_flushes_the_buffer(tmp_path):
    _logging.configure(logging.INFO, tmp_path / "a.log")
    logger = _logging.get_logger("acme.x")
    logger.info("before")
    logger.error("broken")
    text = (tmp_path / "a.log").read_text()
    assert "ACME - INFO - before" in text
    assert "broken" in text.splitlines()[-1]
    assert text.splitlines()[-1].startswith("ACME | ERROR |")


def test_ensure_configured_keeps_existing_setup():
    _logging.configure(logging.DEBUG)
    handlers = list(_acme_logger().handlers)
    _logging.ensure_configured()
    assert _acme_logger().handlers == handlers
    assert _acme_logger().level == logging.DEBUG


def test_cluster_function_installs_handlers_at_info(capsys):
    assert _acme_logger().handlers == []
    cluster_cleanup()
    logger = _acme_logger()
    assert logger.level == logging.INFO
    assert len(_streams(logger)) == 1
    (buffer,) = _buffers(logger)
    assert buffer.target is None
    err = capsys.readouterr().err
    assert re.search(
        r"^ACME ! WARNING ! (<\w+>|\w+) No dangling clients or clusters found\.$",
        err,
        re.MULTILINE,
    )


def test_cluster_function_keeps_configured_level(capsys):
    _logging.configure(logging.DEBUG)
    handlers = list(_acme_logger().handlers)
    cluster_cleanup()
    assert _acme_logger().level == logging.DEBUG
    assert _acme_logger().handlers == handlers
    assert "No dangling clients or clusters found." in capsys.readouterr().err


# -- log files ------------------------------------------------------------------------


def test_logfile_path_receives_the_run(client, tmp_path):
    log = tmp_path / "run.log"
    with ParallelMap(f, [1, 2], write_worker_results=False, logfile=str(log)) as pmap:
        assert pmap.config.logfile == str(log)
        text = log.read_text()  # flushed at the end of the constructor
        lines = text.splitlines()
        assert lines[0] == ANNOUNCE_LINE
        assert any(MEMORY_WARNING in line for line in lines)
        assert f"ACME - INFO - Attaching to parallel computing client {client}" in lines
        assert "\x1b[" not in text
        assert pmap.compute() == [2, 4]
        text = log.read_text()  # flushed at the end of compute()
        assert "ACME - INFO - Preparing 2 parallel calls of `f` using 2 workers" in text
        assert "ACME - INFO - Finished parallel computation" in text


def test_logfile_pathlike_and_tilde(client, tmp_path):
    with ParallelMap(
        f, [1, 2], write_worker_results=False, logfile="~/home.log"
    ) as pmap:
        assert pmap.config.logfile == str(tmp_path / "home.log")
    assert (tmp_path / "home.log").read_text().splitlines()[0] == ANNOUNCE_LINE


def test_existing_logfile_is_appended_with_warning(client, tmp_path):
    log = tmp_path / "run.log"
    log.write_text("previous content\n")
    with pytest.warns(UserWarning, match="already exists, appending to it"):
        pmap = ParallelMap(f, [1, 2], write_worker_results=False, logfile=log)
    with pmap:
        pass
    lines = log.read_text().splitlines()
    assert lines[0] == "previous content"
    assert lines[1] == ANNOUNCE_LINE


def test_cleanup_flushes_the_log(client, tmp_path):
    log = tmp_path / "run.log"
    with ParallelMap(f, [1, 2], write_worker_results=False, logfile=log):
        _logging.get_logger("acme.test").info("between constructor and cleanup")
    assert "ACME - INFO - between constructor and cleanup" in log.read_text()


def test_second_map_never_writes_into_first_log(client, tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    with ParallelMap(f, [1, 2], write_worker_results=False, logfile=first) as pmap:
        assert pmap.compute() == [2, 4]
    first_text = first.read_text()
    with ParallelMap(g, [1, 2], write_worker_results=False, logfile=second) as pmap:
        assert pmap.compute() == [2, 3]
    assert first.read_text() == first_text
    second_text = second.read_text()
    assert second_text.splitlines()[0] == ANNOUNCE_LINE
    assert second_text.count("This is ACME v.") == 1
    assert "Preparing 2 parallel calls of `g`" in second_text
    assert "`f`" not in second_text


def test_log_file_gets_no_records_of_an_earlier_run(client, tmp_path):
    with ParallelMap(g, [1, 2], write_worker_results=False) as pmap:
        assert pmap.compute() == [2, 3]
    log = tmp_path / "later.log"
    with ParallelMap(f, [1, 2], write_worker_results=False, logfile=log):
        pass
    text = log.read_text()
    assert text.splitlines()[0] == ANNOUNCE_LINE
    assert text.count("This is ACME v.") == 1
    assert "`g`" not in text


def test_map_without_logfile_detaches_previous_file(client, tmp_path):
    first = tmp_path / "first.log"
    with ParallelMap(f, [1, 2], write_worker_results=False, logfile=first):
        pass
    first_text = first.read_text()
    with ParallelMap(g, [1, 2], write_worker_results=False) as pmap:
        assert pmap.config.logfile is None
        assert pmap.compute() == [2, 3]
    assert first.read_text() == first_text
    assert _logging.log_file() is None


@pytest.mark.parametrize("logfile", [None, False])
def test_no_log_file_for_in_memory_results(client, tmp_path, logfile):
    with ParallelMap(f, [1, 2], write_worker_results=False, logfile=logfile) as pmap:
        assert pmap.config.logfile is None
        pmap.compute()
    assert list(tmp_path.iterdir()) == []


def test_logfile_true_in_memory_goes_to_cwd(client, tmp_path):
    func = _from_source("def my_func(x):\n    return x\n", "my_func")
    with ParallelMap(func, [1, 2], write_worker_results=False, logfile=True) as pmap:
        logs = list(tmp_path.glob("*.log"))
        assert len(logs) == 1
        match = LOG_NAME.fullmatch(logs[0].name)
        assert match is not None
        assert match["f"] == "my_func"
        assert pmap.config.logfile == str(logs[0])
        assert pmap.compute() == [1, 2]
    assert logs[0].read_text().splitlines()[0] == ANNOUNCE_LINE
    assert sorted(p.name for p in tmp_path.iterdir()) == [logs[0].name]


def test_logfile_true_sanitises_the_function_name(client, tmp_path):
    func = eval("lambda x: x")
    with ParallelMap(func, [1, 2], write_worker_results=False, logfile=True):
        (log,) = tmp_path.glob("*.log")
    assert LOG_NAME.fullmatch(log.name)["f"] == "_lambda_"


def test_logfile_true_beside_a_source_file(client, tmp_path):
    package = tmp_path / "src"
    package.mkdir()
    source = package / "logmod_task.py"
    source.write_text("def task(x):\n    return x\n")
    spec = importlib.util.spec_from_file_location("logmod_task", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    task = module.task

    with ParallelMap(task, [1, 2], write_worker_results=False, logfile=True) as pmap:
        (log,) = package.glob("*.log")
        assert LOG_NAME.fullmatch(log.name)["f"] == "task"
        assert pmap.config.logfile == str(log)
    assert list(tmp_path.glob("*.log")) == []
