"""gunicorn settings for `make run`, `make bench` and production (override by environment)."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = 5
timeout = 30
# Photos arrive over slow mobile lines; the worker waits for the whole body.
graceful_timeout = 30
# ACCESS_LOG="" switches the access log off (it costs a fifth of a bare request).
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"

# The Server header names no software or version ("gunicorn/27.0.1" by default): gunicorn
# always sends one and takes it from these module values, read when a response is made.
import gunicorn  # noqa: E402
import gunicorn.http.wsgi  # noqa: E402

gunicorn.SERVER = gunicorn.http.wsgi.SERVER = "mashang"
gunicorn.SERVER_SOFTWARE = gunicorn.http.wsgi.SERVER_SOFTWARE = "mashang"
