"""Machine callers: the SMS gateway posts the replies residents send (POST /hooks/sms/inbound).

Authenticated by the shared SMS_INBOUND_TOKEN (no session, so no CSRF token): as
`Authorization: Bearer <token>`, or `?token=<token>` for gateways that only take a URL.
The body is JSON or a form, {"from": "<mobile>", "text": "<the reply>"}; a reply that says
退订, TD or STOP stops SMS to that number. Answers are JSON.
"""

import hmac

from flask import Blueprint, current_app, jsonify, request

from extensions import csrf, db
from services import resident_mobile as mobiles
from services.resident_mobile import MobileRefused

bp = Blueprint("hooks", __name__, url_prefix="/hooks")

FIELD_MAX = 500  # a reply longer than this is no stop word, and not worth reading


def _token_ok() -> bool:
    expected = current_app.config["SMS_INBOUND_TOKEN"]
    given = request.headers.get("Authorization", "")
    given = given.removeprefix("Bearer ").strip() if given.startswith("Bearer ") else request.args.get("token", "")
    # Constant time, on bytes: compare_digest refuses non-ASCII str.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@bp.post("/sms/inbound")
@csrf.exempt
def sms_inbound():
    if not current_app.config["SMS_INBOUND_TOKEN"]:
        return jsonify(error="not_configured"), 404
    if not _token_ok():
        return jsonify(error="unauthorized"), 401
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, dict) and not hasattr(data, "get"):
        return jsonify(error="bad_body"), 400
    sender, text = data.get("from"), data.get("text")
    if not isinstance(sender, str) or not isinstance(text, str) or len(sender) > FIELD_MAX:
        return jsonify(error="bad_body"), 400
    try:
        done = mobiles.handle_inbound(sender, text[:FIELD_MAX])
        db.session.commit()
    except MobileRefused as refused:
        db.session.rollback()
        return jsonify(error=refused.code), 400
    return jsonify(ok=True, action=done)
