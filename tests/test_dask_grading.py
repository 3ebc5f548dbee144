"""Grading on Dask distributed: a real scheduler and workers on 127.0.0.1, one of them killed midway.

The tests start ``dask scheduler`` and ``dask worker`` processes themselves
(each worker with its own working folder, as on separate machines) and stop
them afterwards. They show that a batch survives a worker killed with
SIGKILL (every submission graded exactly once, the same scores as a run on
the local cluster, the gradebook intact, nothing of the dead worker's
sandboxes left), that a notebook out of its time limit runs again a bounded
number of times, that a worker that cannot sandbox takes no submission
unless allowed, that an unreachable scheduler stops the batch before
anything is graded, and that a notebook near the 64 MB limit travels through
the scheduler and back.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import harness
import hostile
from autograder import grade

pytestmark = pytest.mark.slow
A = hostile.ASSIGNMENT  # notebook 01
LIMITS = dict(cell_timeout=30, notebook_timeout=120)  # short where the test sets them; honest runs fit easily
QUIET = dict(log=lambda *_: None)
# 21 submissions: answer keys, the untouched release, hostile ones that run a kernel, and broken files that do not
HONEST, RELEASED = 4, 1
HOSTILE = ["wrong", "sys_exit", "os_exit", "patched_checks", "input_transformer", "reads_outside", "network",
           "stripped_metadata", "broken_json", "wrong_name", "empty"]
BROKEN = {"empty_file": b"", "not_a_notebook": b"[]", "no_cells": b'{"nbformat": 4, "nbformat_minor": 5}',
          "zip_upload": b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "utf16": None}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each worker in a folder of its own."""

    def __init__(self, base):
        self.base, self.port, self.workers = Path(base), _free_port(), {}
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log = open(self.base / "cluster.log", "ab")
        self.scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                           "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
                                          stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def add_worker(self, name, env=None):
        folder = self.base / name
        folder.mkdir()
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--name", name, "--nthreads", "1",
             "--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(folder)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True)
        return self.workers[name]

    def wait_for(self, count, timeout=120):
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(count, timeout=timeout)

    def stop(self):
        """The workers first, while the scheduler they say goodbye to is still there; then the scheduler."""
        for group in (list(self.workers.values()), [self.scheduler]):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            for process in group:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    harness.require_binary("bwrap", "bubblewrap")
    running = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        running.add_worker("w1")
        running.add_worker("w2")
        running.wait_for(2)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A course directory with notebook 01 in its gradebook; each test grades in a copy."""
    return harness.make_course_dir(tmp_path_factory.mktemp("template") / "course", only=[A])


def _course(template, path):
    shutil.copytree(template, path)
    return path


def _submit_batch(course, port):
    """The batch: answer keys, the untouched release, one submission per HOSTILE case and per BROKEN file."""
    master = harness.master(A)
    (release,) = harness.notebooks(course / "course" / A)
    for i in range(HONEST):
        harness.submit(course, f"key{i}", A, master, edit=hostile.quick)
    for i in range(RELEASED):
        harness.submit(course, f"release{i}", A, release, edit=hostile.quick)
    cases = {c.student: c for c in hostile.CASES}
    context = {"root": str(course), "port": port}
    for student in HOSTILE:
        case = cases[student]
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        made = case.make(harness.load(master), context)
        if made is not None:
            data = made if isinstance(made, bytes) else json.dumps(hostile.quick(made), indent=1).encode()
            (folder / (case.file_name or master.name)).write_bytes(data)
    for student, data in BROKEN.items():
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / master.name).write_bytes(data if data is not None else master.read_text().encode("utf-16"))
    return sorted(p.name for p in (course / "submitted").iterdir())


def _records(course):
    folder = course / "verdicts" / A
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.is_dir() else {}


def _sandboxed(pid):
    """The processes under ``pid`` that belong to a submission's sandbox (bwrap and everything below it)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.name() == "bwrap" or any(p.name() == "bwrap" for p in child.parents()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _command(process):
    """The command line of ``process``, or "" once it has ended."""
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return ""


def _alive(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_worker_killed_midway_loses_nothing(cluster, template, tmp_path):
    course = _course(template, tmp_path / "course")
    listener = socket.socket()  # what the "network" submission tries to reach
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    students = _submit_batch(course, listener.getsockname()[1])
    assert len(students) >= 20
    local = _course(template, tmp_path / "local")  # the same submissions, for a run on the local cluster
    shutil.copytree(course / "submitted", local / "submitted")

    batch = subprocess.Popen([sys.executable, "-m", "autograder.grade", "autograde", A, "--root", str(course),
                              "--scheduler", cluster.address, "--cell-timeout", str(LIMITS["cell_timeout"]),
                              "--notebook-timeout", str(LIMITS["notebook_timeout"])],
                             cwd=course, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    victim = cluster.workers["w1"]
    started, sandboxes, kernel = time.time(), [], False
    while time.time() < started + 600 and batch.poll() is None:  # midway: graded ones, and w1 inside a sandbox
        sandboxes = _sandboxed(victim.pid)
        kernel = any("ipykernel_launcher" in _command(p) for p in sandboxes)  # a kernel runs in w1's sandbox
        if kernel and len(_records(course)) >= 3:
            break
        time.sleep(0.2)
    if not (kernel and batch.poll() is None):
        ended = batch.poll() is not None
        out, err = batch.communicate() if ended else ("", "")
        pytest.fail(f"the batch was to be caught midway with a kernel in w1's sandbox; after "
                    f"{time.time() - started:.0f} s: batch {'ended with ' + str(batch.returncode) if ended else 'running'}"
                    f", {len(_records(course))} records, w1 {'alive' if victim.poll() is None else 'dead'}, "
                    f"sandboxed under w1: {[_command(p) for p in sandboxes]}\n{out[-2000:]}\n{err[-3000:]}\n"
                    f"cluster log: {(cluster.base / 'cluster.log').read_text(errors='replace')[-3000:]}")
    graded_before = len(_records(course))
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in sandboxes):
        time.sleep(0.2)
    left = [p for p in sandboxes if _alive(p)]
    assert not left, f"processes of the dead worker's sandbox are still running: {[p.cmdline() for p in left]}"

    out, err = batch.communicate(timeout=600)
    listener.close()
    assert batch.returncode == 1, err[-3000:]  # 1: some submissions could not be graded (the broken ones)
    assert graded_before < len(students)

    # every submission graded exactly once: one line each, one record each, one gradebook entry each
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == len(students), out
    for student in students:
        assert sum(f" {student}: " in line for line in lines) == 1, (student, out)
    records = _records(course)
    assert sorted(records) == students
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("pragma foreign_key_check").fetchall() == []
        rows = db.execute("select student.id from submitted_assignment join student "
                          "on submitted_assignment.student_id = student.id").fetchall()
    assert sorted(r[0] for r in rows) == students, "one gradebook submission per student"
    scores = harness.scores(course, A)
    assert {s: scores[s][0] for s in students} == {s: records[s]["score"] for s in students}

    # the same scores as on the local cluster (the default)
    reference = {r["student"]: r for r in grade.autograde(local, A, settings=grade.Settings(**LIMITS, workers=2),
                                                          **QUIET)}
    assert sorted(reference) == students
    for student in students:
        mine, theirs = records[student], reference[student]
        assert (mine["status"], mine["score"]) == (theirs["status"], theirs["score"]), student
        assert {g: c["passed"] for g, c in mine["cells"].items()} == {
            g: c["passed"] for g, c in theirs["cells"].items()}, student
    assert all(records[f"key{i}"]["score"] == records[f"key{i}"]["max_score"] > 0 for i in range(HONEST))
    assert records["wrong"]["score"] < records["wrong"]["max_score"]
    for student in ["broken_json", "wrong_name", "empty", "stripped_metadata", *BROKEN]:
        assert records[student]["status"] == "not graded" and records[student]["reason"], student


def test_a_notebook_out_of_time_runs_again_a_bounded_number_of_times(cluster, template, tmp_path):
    course = _course(template, tmp_path / "course")
    (release,) = harness.notebooks(course / "course" / A)
    # the untouched release (quick), then a last cell that loops until the notebook's time limit stops it
    harness.submit(course, "slow", A, release, edit=lambda nb: hostile._at_the_end(
        nb, "import time\nwhile True:\n    time.sleep(0.1)\n"))
    settings = grade.Settings(cell_timeout=60, notebook_timeout=15, retries=1, scheduler=cluster.address)
    (record,) = grade.autograde(course, A, settings=settings, **QUIET)
    assert record["status"] == "graded" and record["score"] == 0, record
    assert any("notebook's 15 s ran out" in flag for flag in record["flags"]), record["flags"]  # as without Dask
    assert any("ran out of its time limit on each of 2 runs" in flag for flag in record["flags"]), record["flags"]
    assert _scheduler_runs(cluster.address, f"grade-{A}-slow-") == [2], "run once, then retried once"


def _scheduler_runs(address, prefix):
    """How many times the scheduler started each task whose key begins with ``prefix``."""
    from distributed import Client

    def runs(dask_scheduler):
        keys = sorted({t[0] for t in dask_scheduler.transition_log if str(t[0]).startswith(prefix)})
        return [sum(1 for t in dask_scheduler.story(key) if t[0] == key and t[2] == "processing") for key in keys]

    with Client(address, timeout="60s") as client:
        return client.run_on_scheduler(runs)


def test_an_unreachable_scheduler_is_one_clear_error_and_grades_nothing(template, tmp_path, capsys):
    course = _course(template, tmp_path / "course")
    harness.submit(course, "ana", A, harness.master(A))
    port = _free_port()  # nothing listens there
    code = grade.main(["autograde", A, "--root", str(course), "--scheduler", f"tcp://127.0.0.1:{port}",
                       "--connect-timeout", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("error:") == 1 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err, err
    assert "nothing was graded" in err
    assert not (course / "verdicts").exists() and not (course / "autograded").exists()
    assert harness.scores(course, A) == {}


def test_a_worker_that_cannot_sandbox_takes_no_submission_unless_allowed(template, tmp_path):
    course = _course(template, tmp_path / "course")
    harness.submit(course, "ana", A, harness.master(A))
    unisolated = Cluster(tmp_path)
    try:  # a worker whose PATH has no bwrap, as on a node without bubblewrap
        unisolated.add_worker("bare", env={"PATH": str(Path(sys.executable).parent)})
        unisolated.wait_for(1)
        settings = grade.Settings(**LIMITS, scheduler=unisolated.address, wait_for_workers=30)
        with pytest.raises(grade.GradingError, match="no worker can sandbox submissions.*bwrap is not installed"
                                                     ".*--allow-unisolated"):
            grade.autograde(course, A, settings=settings, **QUIET)
        assert not (course / "verdicts").exists() and harness.scores(course, A) == {}

        allowed = grade.Settings(**LIMITS, scheduler=unisolated.address, allow_unisolated=True)
        (record,) = grade.autograde(course, A, settings=allowed, **QUIET)
    finally:
        unisolated.stop()
    assert record["status"] == "graded" and record["score"] == record["max_score"]
    assert record["isolation"]["namespaces"] is None
    assert "graded without full isolation" in record["flags"]


def test_a_notebook_near_the_64_mb_limit_goes_through_the_scheduler(cluster, template, tmp_path):
    course = _course(template, tmp_path / "course")
    size = 60 * 1024**2

    def big(nb):
        nb["cells"].insert(1, {"cell_type": "markdown", "id": "big", "metadata": {}, "source": "x" * size})

    folder = harness.submit(course, "big", A, harness.master(A), edit=big)
    assert size < (folder / harness.master(A).name).stat().st_size < grade.MAX_NOTEBOOK_BYTES
    settings = grade.Settings(**LIMITS, scheduler=cluster.address)
    (record,) = grade.autograde(course, A, settings=settings, **QUIET)
    assert record["status"] == "graded" and record["score"] == record["max_score"], record["reason"]
    graded = course / "autograded" / "big" / A / harness.master(A).name
    assert graded.stat().st_size > size


def test_a_worker_that_takes_submissions_stops_its_sampling_profiler(cluster):
    from distributed import Client

    def profiling(dask_worker=None):  # defined here: sent by value to the workers, which lack the tests
        return sorted(name for name in dask_worker.periodic_callbacks if name.startswith("profile"))

    with Client(cluster.address, timeout="60s") as client:
        client.register_plugin(grade._grading_plugin(False))
        found = list(client.run(profiling).values())  # the workers alive (one fewer after the killed-worker test)
        assert found and all(names == [] for names in found), f"profilers left running: {found}"


def test_local_workers_fork_from_a_server_that_has_imported_the_grading_modules(tmp_path, monkeypatch):
    import dask
    import distributed  # noqa: F401  (its configuration, read below, comes with it)

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the suite sets them itself
        monkeypatch.delenv(name, raising=False)

    def state(modules):  # sent by value, the names as an argument: what the worker holds before any task
        import os
        import sys
        return {"parent": os.getppid(), "blas threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                "imported": sorted(m for m in modules if m in sys.modules)}

    settings = grade.Settings(workers=2)
    before = dask.config.get("distributed.worker.multiprocessing-method")
    with grade.local_workers_fork():
        assert dask.config.get("distributed.worker.multiprocessing-method") == "forkserver"
        client, cluster = grade._connect(settings, tmp_path, print)
        try:
            found = list(client.run(state, list(grade.WORKER_MODULES)).values())
        finally:
            client.close()
            cluster.close()
    assert dask.config.get("distributed.worker.multiprocessing-method") == before
    assert len(found) == 2
    assert {f["parent"] for f in found} != {os.getpid()} and len({f["parent"] for f in found}) == 1, found
    assert all(f["imported"] == sorted(grade.WORKER_MODULES) and f["blas threads"] == "1" for f in found), found


def test_a_local_batch_runs_dask_housekeeping_at_a_slow_pace(template, tmp_path, monkeypatch):
    """A local batch's scheduler, nanny and worker: the event loop's watchdog every second, the system
    monitor and the memory check every 5 s, no sampling profiler (Dask's defaults: 20 ms, 0.5 s, 0.1 s)."""
    paces = {}
    check_workers = grade._check_workers

    def pace(dask_worker=None, dask_scheduler=None):  # sent by value: the workers lack the tests
        server = dask_worker or dask_scheduler
        return {name: callback.callback_time for name, callback in server.periodic_callbacks.items()}

    def probing(client, settings, log):
        check_workers(client, settings, log)
        paces["scheduler"] = [client.run_on_scheduler(pace)]
        paces["nanny"] = list(client.run(pace, nanny=True).values())
        paces["worker"] = list(client.run(pace).values())

    monkeypatch.setattr(grade, "_check_workers", probing)
    course = _course(template, tmp_path / "course")
    harness.submit(course, "key", A, harness.master(A), edit=hostile.quick)
    (result,) = grade.autograde(course, A, settings=grade.Settings(workers=1), log=lambda *_: None)
    assert result["status"] == "graded" and result["score"] == result["max_score"], result["reason"]
    assert [len(paces[server]) for server in ("scheduler", "nanny", "worker")] == [1, 1, 1], paces
    for server, found in ((server, f) for server, each in paces.items() for f in each):
        assert found["tick"] == 1000 and found["monitor"] == 5000, (server, found)
        assert found.get("memory_monitor", 5000) == 5000, (server, found)
        assert not [name for name in found if name.startswith("profile")], (server, found)
    assert paces["worker"][0].get("memory_monitor") == 5000, paces["worker"]  # the check that runs most often
