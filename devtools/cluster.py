"""`make cluster`: the production shape on this machine, on loopback — Debian's nginx (the
site in deploy/nginx, its paths and ports changed for here) in front of two app servers
(separate gunicorn instances on 8001 and 8002), the machine's PostgreSQL and Redis, an
S3-protocol server for the photos (moto's, on 9000), and the scheduled jobs loop.
tests/e2e/test_cluster.py drives a resident and a representative through it.

    python -m devtools.cluster            # up until Ctrl-C, on http://127.0.0.1:8080
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
PG_SERVER = os.environ.get("CLUSTER_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("CLUSTER_REDIS", "redis://127.0.0.1:6379/7")
DATABASE = "mashang_cluster"
FRONT_PORT = 8080
TLS_PORT = 8443  # the deployed TLS settings, with a certificate made for 127.0.0.1
APP_PORTS = (8001, 8002)
# The S3-protocol server for photos: moto's (pinned in requirements-dev.txt), one process.
S3_PORT = 9000
S3_BUCKET = "mashang-cluster"


def _pg_url(database: str) -> str:
    return PG_SERVER.rsplit("/", 1)[0] + "/" + database


def _psql(sql: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def certificate(work: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (two days), where the deployed site names
    the real one."""
    cert, key = work / "fullchain.pem", work / "privkey.pem"
    if not cert.exists():
        request = "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
        subprocess.run(  # noqa: S603 (fixed arguments)
            [OPENSSL, *request.split(), "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )
    return cert, key


def nginx_conf(work: Path, *, limits: bool = True) -> Path:
    """The deployed site, as this machine runs it: plain HTTP on FRONT_PORT and the site's TLS
    settings on TLS_PORT with a self-signed certificate, the app servers' ports, static files
    from this checkout, files under `work`, and a header naming the app server that answered
    (for the test, not in production). Without `limits`, nginx's per-address limits are left
    out: a load test's clients share one address, as a province's residents do not."""
    site = (ROOT / "deploy" / "nginx" / "mashang.conf").read_text()
    proxy = (ROOT / "deploy" / "nginx" / "mashang_proxy.conf").read_text()
    (work / "mashang_proxy.conf").write_text(proxy + "add_header X-Upstream $upstream_addr always;\n")
    site = re.sub(r"server \{\n    listen 80;.*?\n\}\n", "", site, flags=re.S)  # no redirect to https
    site = re.sub(
        r"    listen 443 ssl http2;\n    listen \[::\]:443 ssl http2;\n",
        f"    listen 127.0.0.1:{FRONT_PORT};\n    listen 127.0.0.1:{TLS_PORT} ssl http2;\n",
        site,
    )
    cert, key = certificate(work)
    site = site.replace("/etc/ssl/mashang/fullchain.pem", str(cert)).replace("/etc/ssl/mashang/privkey.pem", str(key))
    site = site.replace("/etc/nginx/mashang_proxy.conf", str(work / "mashang_proxy.conf"))
    if not limits:
        site = re.sub(r"\n\s*limit_req[^\n]*", "", site)
    site = site.replace("/srv/mashang/app/static/", f"{ROOT / 'static'}/")
    (work / "site.conf").write_text(site)
    conf = work / "nginx.conf"
    conf.write_text(
        f"daemon off;\npid {work}/nginx.pid;\nerror_log {work}/nginx-error.log;\nevents {{}}\n"
        "http {\n  include /etc/nginx/mime.types;\n"
        f"  access_log {work}/nginx-access.log;\n  client_body_temp_path {work}/body;\n"
        f"  proxy_temp_path {work}/proxy;\n  fastcgi_temp_path {work}/fastcgi;\n  uwsgi_temp_path {work}/uwsgi;\n"
        f"  scgi_temp_path {work}/scgi;\n  include {work}/site.conf;\n}}\n"
    )
    return conf


class Cluster:
    """Start with `up()`, stop with `down()` (or use it as a context manager)."""

    def __init__(self, *, settings: dict | None = None, seed: bool = True, limits: bool = True):
        self.limits = limits
        self.work = Path(tempfile.mkdtemp(prefix="mashang-cluster-"))
        self.env = {
            **os.environ,
            "FLASK_APP": "app:create_app",
            "APP_ENV": "development",
            "SECRET_KEY": "cluster-" + "x" * 32,
            "DATABASE_URL": _pg_url(DATABASE),
            "RATELIMIT_STORAGE_URI": REDIS,
            "TRUST_PROXY_HOPS": "1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{FRONT_PORT}",
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{S3_PORT}",
            "S3_BUCKET": S3_BUCKET,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "cluster",
            "S3_SECRET_ACCESS_KEY": "cluster-secret",
            "S3_PATH_STYLE": "true",
            "UPLOAD_FOLDER": str(self.work / "uploads"),
            "QRCODE_FOLDER": str(self.work / "qrcodes"),
            "WEB_CONCURRENCY": "2",
            **(settings or {}),
        }
        self.seed = seed
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], dict]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{FRONT_PORT}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{TLS_PORT}"

    def flask(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 (our own flask, fixed arguments)
            [str(BIN / "flask"), *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _start(self, name: str, argv: list[str], env: dict | None = None) -> None:
        self.commands[name] = (argv, env or self.env)
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 (open while the process runs)
        self.processes[name] = subprocess.Popen(  # noqa: S603 (our own programs)
            argv, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str) -> None:
        """SIGKILL a process and everything it started (a gunicorn master and its workers)."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def restart(self, name: str) -> None:
        argv, env = self.commands[name]
        self._start(name, argv, env)
        if name.startswith("app-"):
            self._wait(f"http://127.0.0.1:{name.removeprefix('app-')}/healthz")

    def _wait(self, url: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer in {seconds} s; logs in {self.work}")

    def up(self) -> Cluster:
        import socket

        for port in (FRONT_PORT, TLS_PORT, *APP_PORTS, S3_PORT):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} is taken: is a cluster (or `make run`) already up?")
        _psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        _psql(f'CREATE DATABASE "{DATABASE}"')
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        self._start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(S3_PORT)])
        self._wait(f"http://127.0.0.1:{S3_PORT}/moto-api/")
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.env["S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="cluster",
            aws_secret_access_key="cluster-secret",  # noqa: S106 (moto takes any)
        ).create_bucket(Bucket=S3_BUCKET)
        self.flask("db", "upgrade")
        if self.seed:
            self.flask("seed-demo")
        for port in APP_PORTS:
            gunicorn = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "app:create_app()"]
            self._start(f"app-{port}", gunicorn, {**self.env, "BIND": f"127.0.0.1:{port}"})
        self._start("jobs", [str(BIN / "flask"), "jobs", "run", "--tick", "1"])
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.work / sub).mkdir(exist_ok=True)
        self._start("nginx", [NGINX, "-p", str(self.work), "-c", str(nginx_conf(self.work, limits=self.limits))])
        for port in APP_PORTS:
            self._wait(f"http://127.0.0.1:{port}/healthz")
        self._wait(f"{self.url}/healthz")
        return self

    def down(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def __enter__(self) -> Cluster:
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()


def main() -> None:
    cluster = Cluster()
    print(f"starting: PostgreSQL database {DATABASE}, Redis {REDIS}, logs in {cluster.work}")
    with cluster:
        servers = ", ".join(str(p) for p in APP_PORTS)
        print(f"up: nginx {cluster.url} and {cluster.tls_url} (self-signed) → app servers {servers}, jobs loop")
        print(cluster.flask("demo-info"))
        try:
            while all(p.poll() is None for p in cluster.processes.values()):
                time.sleep(1)
            print("a process stopped; see its log in", cluster.work)
        except KeyboardInterrupt:
            pass
    print("stopped")


if __name__ == "__main__":
    main()
