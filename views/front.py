"""The front of the app: a repeat cookie-less visit to a kept public page, answered before
Flask is reached.

Most requests are a poster's scan: no cookie, the same station page for everyone. Flask's
own path (request and app contexts, the session, the locale, the hooks, the security
headers) costs more than the page once it is rendered and kept (services/page_cache.py).
So this WSGI middleware keeps, per path, host and language, the whole response Flask gave
to a cookie-less GET of a page a view marked as the same for everyone (FRONT_KEEPS), and
replays it — status, every header Flask set (security headers included), the body or a
304 — with a new request id and the same metrics. It is dropped with the kept pages when
the shared generation moves, or, for a tracking page, when the journal names its concern;
when they are due to be read again the request goes through Flask, which reads them. A
response that sets a cookie (a page with a form on it) is never kept. A request with any
cookie but `lang`, a query string or another method always goes through Flask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie, parse_etags, unquote_etag

from app import locale_for
from services import logs, metrics
from services.page_cache import FRONT_KEEPS, Kept, pages_of
from views.observability import REQUEST_ID, ROUTE

# Headers made per request (or by the server) are not kept.
NOT_KEPT = frozenset(("x-request-id", "date", "server"))
NOT_IN_304 = frozenset(("content-type", "content-length"))
_LANGUAGES_KEPT = 256  # distinct Accept-Language values remembered


class KeptPages:
    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._languages: dict[tuple[str | None, str], str] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        pages = pages_of(self.app)
        method = environ["REQUEST_METHOD"]
        if pages is None or method not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        chosen = self._chosen_language(environ.get("HTTP_COOKIE"))
        if chosen is False:  # a session or another cookie: the visitor may be someone
            return self.wsgi_app(environ, start_response)
        key = (environ.get("PATH_INFO", ""), environ.get("HTTP_HOST", ""), self._language(chosen, environ))
        if not pages.due() and (kept := pages.response(key)) is not None:
            return self._replay(kept, environ, start_response)
        if method == "HEAD":
            return self.wsgi_app(environ, start_response)
        return self._keep(pages, key, environ, start_response)

    @staticmethod
    def _chosen_language(cookie: str | None) -> str | None | bool:
        """The `lang` cookie's value (None: no cookie), or False when any other cookie is sent."""
        if not cookie:
            return None
        cookies = parse_cookie(cookie)
        if any(name != "lang" for name in cookies):
            return False
        return cookies.get("lang")

    def _language(self, chosen: str | None, environ: dict) -> str:
        header = environ.get("HTTP_ACCEPT_LANGUAGE", "")
        remembered = self._languages.get((chosen, header))
        if remembered is None:
            remembered = str(locale_for(chosen, parse_accept_header(header, LanguageAccept)))
            if len(self._languages) >= _LANGUAGES_KEPT:
                self._languages.clear()
            self._languages[(chosen, header)] = remembered
        return remembered

    def _keep(self, pages, key, environ: dict, start_response: Callable) -> Iterable[bytes]:
        answered: list = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info=None):
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        mark = environ.get(FRONT_KEEPS)
        if mark is None or not answered or not answered[0].startswith("200 "):
            return body
        status, headers = answered
        if any(name.lower() == "set-cookie" for name, _value in headers):
            return body
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        etag = next((unquote_etag(value)[0] for name, value in headers if name.lower() == "etag"), None)
        kept_headers = [(name, value) for name, value in headers if name.lower() not in NOT_KEPT]
        pages.put_response(key, (status, kept_headers, content, etag, environ.get(ROUTE) or ""), mark)
        return [content]

    @staticmethod
    def _replay(kept: Kept, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        status, headers, content, etag, route = kept
        rid = environ[REQUEST_ID] = logs.sane_request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[ROUTE] = route
        if etag is not None and parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(etag):
            code, status, content = 304, "304 NOT MODIFIED", b""
            headers = [(name, value) for name, value in headers if name.lower() not in NOT_IN_304]
        else:
            code = 200
        start_response(status, [*headers, ("X-Request-ID", rid)])
        metrics.observe(route, environ["REQUEST_METHOD"], code, time.perf_counter() - started)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [content]
