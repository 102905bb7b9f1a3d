"""The OpenAPI document, and a page that reads it for people: rendered here, from the
document itself, with nothing loaded from another host (no Swagger UI or Redoc from a CDN)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from extensions import limiter
from views.api import PREFIX, STATUS, api

# Beside the API's blueprint, not in it: these two are about the document, not in it.
bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)


def document() -> dict:
    return api.spec.to_dict()


@bp.get("/openapi.json")
@limiter.exempt
def openapi():
    response = current_app.response_class(current_app.json.dumps(document()), mimetype="application/json")
    return response


def _operations(doc: dict) -> list[dict]:
    out = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            out.append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": _body_ref(op),
                    "responses": sorted(op.get("responses", {}).items()),
                    "secured": bool(op.get("security")),
                }
            )
    return out


def _body_ref(op: dict) -> str | None:
    content = op.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] or None


def _ref_name(response: dict) -> str:
    ref = response.get("$ref", "")
    if ref:
        return ref.rsplit("/", 1)[-1]
    content = response.get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    return schema.get("$ref", "").rsplit("/", 1)[-1]


@bp.get("/docs")
@limiter.exempt
def docs():
    doc = document()
    from services.errors import ApiRefused, TransitionRefused
    from services.refusals import WORDS

    codes = sorted({code for (kind, code, _ctx) in WORDS if kind in (ApiRefused, TransitionRefused)})
    return render_template(
        "api/docs.html",
        doc=doc,
        operations=_operations(doc),
        schemas=doc.get("components", {}).get("schemas", {}),
        ref_name=_ref_name,
        codes=[(code, STATUS.get(code, 409)) for code in codes],
        problem_words={
            code: WORDS.get((ApiRefused, code, None)) or WORDS.get((TransitionRefused, code, None)) for code in codes
        },
    )
