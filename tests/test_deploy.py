"""deploy/: Debian's nginx accepts the site as written, and the systemd units run the
commands and jobs this code has (every job has its timer)."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from services import jobs

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(path, encoding="utf-8")
    return parser


def test_nginx_accepts_the_site(tmp_path):
    assert Path(NGINX).exists(), "Debian's nginx is installed by `make test` (system-deps)"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=mashang.test",
            "-keyout",
            str(tmp_path / "privkey.pem"),
            "-out",
            str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    proxy = tmp_path / "mashang_proxy.conf"
    proxy.write_text((DEPLOY / "nginx" / "mashang_proxy.conf").read_text())
    site = (DEPLOY / "nginx" / "mashang.conf").read_text()
    site = site.replace("/etc/ssl/mashang/", f"{tmp_path}/").replace("/etc/nginx/mashang_proxy.conf", str(proxy))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  include {tmp_path}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


def test_every_job_has_a_timer_running_it():
    service = unit(DEPLOY / "systemd" / "mashang-job@.service")
    assert service["Service"]["ExecStart"].endswith("jobs once %i")
    timers = {
        p.name.removeprefix("mashang-job-").removesuffix(".timer"): unit(p)
        for p in (DEPLOY / "systemd").glob("mashang-job-*.timer")
    }
    assert set(timers) == set(jobs.JOBS)
    for name, timer in timers.items():
        assert timer["Timer"]["Unit"] == f"mashang-job@{name}.service"


@pytest.mark.parametrize("name", ["mashang-web@.service", "mashang-job@.service", "mashang-jobs.service"])
def test_the_units_run_as_their_own_user_with_the_environment_file(name):
    service = unit(DEPLOY / "systemd" / name)["Service"]
    assert service["User"] == "mashang" and service["EnvironmentFile"] == "/etc/mashang/mashang.env"
    assert service["ExecStart"].startswith("/srv/mashang/app/.venv/bin/")


def test_the_environment_template_names_only_settings_the_app_reads():
    from config import ENV_SETTINGS

    deployment_only = {"WEB_CONCURRENCY", "GUNICORN_THREADS"}
    names = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "mashang.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert set(names) - deployment_only <= set(ENV_SETTINGS)


def _systemd_environment(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them: a value in double quotes
    loses its quotes and keeps its spaces."""
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values[key] = value
    return values


def test_the_shell_and_systemd_read_the_environment_file_alike(tmp_path):
    """The guide's run() sources the file with bash (set -a) for flask commands; the units
    read it as systemd does. Both must see every setting, whole."""
    template = DEPLOY / "mashang.env.example"
    shown = subprocess.run(  # noqa: S603
        ["/bin/bash", "-c", 'set -a; . "$1" || exit 9; set +a; env -0', "bash", str(template)],  # noqa: S607
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    from_shell = dict(item.split("=", 1) for item in shown.stdout.split("\0") if "=" in item)
    expected = _systemd_environment(template)
    assert expected["MAIL_FROM"] == "码上 <mashang@example.gov.cn>"
    assert {key: from_shell.get(key) for key in expected} == expected


def test_an_answer_of_the_app_never_takes_a_server_out_of_nginx():
    """`proxy_next_upstream http_503` would count the app's own 503s (readiness, a photo store
    down, "send again") as server failures: three in fail_timeout and nginx stops sending that
    server anything — with both servers answering 503, every request gets nginx's 502."""
    proxy = (DEPLOY / "nginx" / "mashang_proxy.conf").read_text()
    [directive] = [line for line in proxy.splitlines() if line.startswith("proxy_next_upstream ")]
    assert not [word for word in directive.rstrip(";").split()[1:] if word.startswith("http_")]
