"""Verification of Twilio's webhooks, as a dependency any router can use.

    from dispatch.notify.webhooks import TwilioForm

    @router.post("/webhooks/twilio/whatsapp")
    def inbound(form: TwilioForm) -> Response: ...

`TwilioForm` is the request's form fields once `X-Twilio-Signature` has been checked with
`twilio.request_validator.RequestValidator` against DISPATCH_PUBLIC_BASE_URL + path + query
(the URL Twilio called, in front of the reverse proxy). Anything else is 403 before the
handler runs, so a forged request changes nothing.

Twilio signs with the account's auth token (HMAC-SHA1), or, when a Webhook Rule matches the
URL, with a SharedKey and the algorithm named in `X-Twilio-Webhooks-Signature-Settings`
(DISPATCH_TWILIO_WEBHOOK_SHARED_KEY holds that secret; without it such requests are refused).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from twilio.request_validator import (
    HMAC_SHA1,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from dispatch.config import Settings

log = logging.getLogger(__name__)


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio used: the configured public base, the app's path, the query string."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    query = request.url.query
    return settings.public_base_url.rstrip("/") + path + (f"?{query}" if query else "")


async def verified_twilio_form(request: Request) -> dict[str, str]:
    """The form fields of a request signed by Twilio; 403 if the signature does not match."""
    settings: Settings = request.app.state.settings
    signature = request.headers.get("X-Twilio-Signature", "")
    form = await request.form()
    signing = request.headers.get(SIGNATURE_SETTINGS_HEADER, "")
    if signing:
        secret = settings.twilio_webhook_shared_key
        algorithm = get_signature_algorithm(signing)
    else:
        secret, algorithm = settings.twilio_auth_token, HMAC_SHA1
    url = public_url(request, settings)
    if (
        not secret
        or not signature
        or not RequestValidator(secret).validate(url, form, signature, algorithm)
    ):
        log.warning("rejected a Twilio webhook with a missing or wrong signature: %s", url)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid Twilio signature")
    # A NUL cannot be stored in PostgreSQL text; whatever else was typed is kept and answered.
    return {
        key: value.replace("\x00", "")
        for key, value in form.multi_items()
        if isinstance(value, str)
    }


TwilioForm = Annotated[dict[str, str], Depends(verified_twilio_form)]
