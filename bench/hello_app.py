"""The yardstick for bench/run.py: a bare Flask app with one route, served by the same
gunicorn settings as the real app, so the ratio between the two shows what the app costs."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
