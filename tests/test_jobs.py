"""The scheduled jobs (services/jobs.py, flask jobs): each under a lock no two processes hold
at once — a PostgreSQL advisory lock, a file lock on SQLite — and a loop that runs them all."""

from datetime import timedelta

import pytest

from services import jobs


def test_a_job_held_elsewhere_is_skipped(app, db):
    ran = []
    job = jobs.Job("test-job", timedelta(minutes=1), lambda: ran.append(1) or "did it", "a test")
    with jobs.lock("test-job") as first:
        assert first
        with jobs.lock("test-job") as second:
            assert not second  # another holder (here: another connection or file handle)
        assert jobs.run(job) is None
        assert ran == []
    assert jobs.run(job) == "did it" and ran == [1]
    with jobs.lock("other-job") as other:
        assert other  # each job has its own lock


def test_a_failing_job_lets_go_of_its_lock(app, db):
    def broken():
        raise RuntimeError("boom")

    job = jobs.Job("broken-job", timedelta(minutes=1), broken, "a test")
    with pytest.raises(RuntimeError):
        jobs.run(job)
    with jobs.lock("broken-job") as mine:
        assert mine


def test_the_commands(app, db, runner, monkeypatch):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0 and all(name in result.output for name in jobs.JOBS)
    result = runner.invoke(args=["jobs", "once", "outbox"])
    assert result.exit_code == 0, result.output
    assert "outbox: sent 0" in result.output
    result = runner.invoke(args=["jobs", "run", "--for", "0.3", "--tick", "0.1"])
    assert result.exit_code == 0, result.output
    for name in jobs.JOBS:
        assert f"{name}: " in result.output
    # A job that fails is said, the loop goes on, and `once` exits 1.
    broken = jobs.Job("outbox", timedelta(minutes=1), lambda: 1 / 0, "broken")
    monkeypatch.setitem(jobs.JOBS, "outbox", broken)
    result = runner.invoke(args=["jobs", "once", "outbox"])
    assert result.exit_code == 1 and "outbox: failed" in result.output
