"""Command-line entry points, one module per area; `register(app)` adds them to `flask`.

demo.py      flask seed-demo, flask demo-info
scale.py     flask seed-scale (the benchmark's data)
qrcodes.py   flask make-qrcodes
accounts.py  flask create-user
api_keys.py  flask api-key create|list|revoke|webhook
duty.py      flask duty close-stale
outbox.py    flask outbox send|status
concerns.py  flask concerns auto-close
calendar.py  flask calendar import|show
regions.py   flask regions load|info
imports.py   flask import KIND FILE [--dry-run], flask sample-county FOLDER
jobs.py      flask jobs list|once NAME|run (the scheduled jobs, under a lock)
backup.py    flask backup [--to DIR] [--keep N], flask restore FROM [--yes]
privacy.py   flask privacy purge [--dry-run]
figures.py   flask figures rebuild
"""

from flask import Flask

from commands import (
    accounts,
    api_keys,
    backup,
    calendar,
    concerns,
    demo,
    duty,
    figures,
    imports,
    jobs,
    outbox,
    privacy,
    qrcodes,
    regions,
    scale,
)


def register(app: Flask) -> None:
    for command in (
        demo.seed_demo_command,
        scale.seed_scale_command,
        qrcodes.make_qrcodes_command,
        demo.demo_info_command,
        accounts.create_user_command,
        api_keys.api_key_group,
        duty.duty_group,
        outbox.outbox_group,
        concerns.concerns_group,
        calendar.calendar_group,
        regions.regions_group,
        imports.import_command,
        imports.sample_county_command,
        jobs.jobs_group,
        backup.backup_command,
        backup.restore_command,
        privacy.privacy_group,
        figures.figures_group,
    ):
        app.cli.add_command(command)
