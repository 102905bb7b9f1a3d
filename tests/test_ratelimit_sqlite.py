"""The embedded rate-limit storage: counts shared by every process that opens the file,
as `make run`'s gunicorn workers do, without Redis."""

import multiprocessing
import time

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ratelimit_sqlite import SQLiteStorage


def _hit_many(uri: str, times: int) -> None:
    storage = storage_from_string(uri)
    for _ in range(times):
        storage.incr("lookup/10.0.0.1", 60)


def test_the_uri_opens_the_sqlite_storage(tmp_path):
    assert isinstance(storage_from_string(f"sqlite:///{tmp_path / 'limits.sqlite3'}"), SQLiteStorage)
    with pytest.raises(ValueError):
        SQLiteStorage("sqlite:///")


def test_workers_count_together(tmp_path):
    uri = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hit_many, args=(uri, 25)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert storage_from_string(uri).get("lookup/10.0.0.1") == 100


def test_a_limit_holds_across_processes_and_its_window_ends(tmp_path):
    uri = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    one, other = storage_from_string(uri), storage_from_string(uri)
    limit = parse("3 per 2 seconds")
    first, second = FixedWindowRateLimiter(one), FixedWindowRateLimiter(other)
    assert first.hit(limit, "lookup", "10.0.0.2") and second.hit(limit, "lookup", "10.0.0.2")
    assert first.hit(limit, "lookup", "10.0.0.2")
    assert not second.hit(limit, "lookup", "10.0.0.2")  # the fourth, from the other one
    assert second.hit(limit, "lookup", "10.0.0.3")  # another address has its own count
    assert one.get_expiry("LIMITER/lookup/10.0.0.2/3/2/second") > time.time()
    time.sleep(2.1)
    assert second.hit(limit, "lookup", "10.0.0.2")  # a new window
    assert one.check() and one.reset() >= 1 and one.get("LIMITER/lookup/10.0.0.2/3/2/second") == 0
