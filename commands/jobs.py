"""`flask jobs list|once|run`: the scheduled jobs (services/jobs.py), from systemd timers
(`once`) or as one loop per machine (`run`)."""

import signal
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from services import jobs


@click.group("jobs", cls=AppGroup)
def jobs_group():
    """Scheduled jobs: outbox, stale duties, reminders, auto-close."""


def _say(text: str) -> None:
    click.echo(f"{datetime.now().isoformat(timespec='seconds')} {text}")


def _run_one(job: jobs.Job) -> bool:
    """Run `job` and say how it went; False when it failed."""
    try:
        done = jobs.run(job)
    except Exception:
        current_app.logger.exception("job %s failed", job.name)
        _say(f"{job.name}: failed (see the log)")
        return False
    _say(f"{job.name}: {done}" if done is not None else f"{job.name}: running elsewhere, skipped")
    return True


@jobs_group.command("list")
def list_command():
    """The jobs and how often the loop runs each."""
    for job in jobs.JOBS.values():
        click.echo(f"{job.name:<14} every {int(job.every.total_seconds()):>5} s  {job.about}")


@jobs_group.command("once")
@click.argument("name", type=click.Choice(list(jobs.JOBS)))
def once_command(name: str):
    """Run one job now, under its lock (for a systemd timer); exit 1 when it failed."""
    if not _run_one(jobs.JOBS[name]):
        raise SystemExit(1)


@jobs_group.command("run")
@click.option("--only", multiple=True, type=click.Choice(list(jobs.JOBS)), help="Run these jobs only.")
@click.option("--tick", type=click.FloatRange(0.1, 60), default=5.0, show_default=True, help="Seconds between looks.")
@click.option(
    "--for", "duration", type=click.FloatRange(min=0), default=0, help="Stop after this many seconds (0: never)."
)
def run_command(only: tuple[str, ...], tick: float, duration: float):
    """Run every job on its schedule until stopped (SIGTERM or Ctrl-C finishes the job in hand
    first). The alternative to the systemd timers: one such loop per machine is enough, and
    several are safe — a job runs on one machine at a time."""
    chosen = [jobs.JOBS[name] for name in only] if only else list(jobs.JOBS.values())
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = time.monotonic()
    due = {job.name: started for job in chosen}
    _say(f"jobs: {', '.join(job.name for job in chosen)}")
    while not stopping and not (duration and time.monotonic() - started >= duration):
        for job in chosen:
            if stopping:
                break
            if time.monotonic() >= due[job.name]:
                due[job.name] = time.monotonic() + job.every.total_seconds()
                _run_one(job)
        time.sleep(tick)
    _say("jobs: stopped")
