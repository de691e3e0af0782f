"""sipgate.io pushes: verifying, reading and answering them.

sipgate POSTs a form for each call event (``newCall``, ``answer``,
``hangup``) and signs the raw body: the header ``X-Sipgate-Signature`` holds
a base64 RSASSA-PKCS1-v1_5 SHA-256 signature made with sipgate's key. Like
``api.py`` this module has no Home Assistant imports.
"""

import base64
import binascii
from dataclasses import dataclass
from http import HTTPStatus
import re
from typing import Final
from urllib.parse import parse_qsl
from xml.sax.saxutils import quoteattr

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE_HEADER: Final = "X-Sipgate-Signature"
# A push is a few hundred bytes; this is generous.
MAX_BODY: Final = 16 * 1024
# Call ids change on transfers and grow; sipgate's are at least 200 long.
MAX_CALL_ID: Final = 512
_MAX_FIELDS: Final = 64
# A base64 signature of a key of up to 16384 bits.
_MAX_SIGNATURE: Final = 4096
_DIGITS: Final = re.compile(r"\+?[0-9]{1,20}")

EVENT_NEW_CALL: Final = "newCall"
EVENT_ANSWER: Final = "answer"
EVENT_HANGUP: Final = "hangup"


class PushError(Exception):
    """A push is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        """Keep the status and a reason without any of the push's content."""
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class Push:
    """One verified push, as the integration uses it.

    Numbers are E.164 (``+492111234567``) or ``None`` when sipgate sends none
    or ``anonymous``.
    """

    event: str
    call_id: str
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    users: tuple[str, ...] = ()
    answering_number: str | None = None
    answered_by: str | None = None
    cause: str | None = None


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Return the RSA public key of a PEM text; raise ValueError otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError, UnicodeError) as err:
        raise ValueError(f"not a PEM public key: {type(err).__name__}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")  # noqa: TRY004
    return key


def verify(key: rsa.RSAPublicKey, body: bytes, signature: str | None) -> None:
    """Raise PushError (401) unless ``signature`` signs ``body`` with ``key``."""
    if not signature:
        raise PushError(HTTPStatus.UNAUTHORIZED, "no signature")
    if len(signature) > _MAX_SIGNATURE:
        raise PushError(HTTPStatus.UNAUTHORIZED, "malformed signature")
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error, ValueError:
        raise PushError(HTTPStatus.UNAUTHORIZED, "malformed signature") from None
    try:
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise PushError(HTTPStatus.UNAUTHORIZED, "wrong signature") from None


def parse(body: bytes) -> Push:
    """Read a push's form; raise PushError (400) if it is not one."""
    try:
        fields = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            max_num_fields=_MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError too
        raise PushError(HTTPStatus.BAD_REQUEST, "not a form") from None
    values: dict[str, list[str]] = {}
    for name, value in fields:
        values.setdefault(name, []).append(value)

    def first(name: str) -> str | None:
        return values.get(name, [None])[0]

    event = first("event")
    call_id = first("callId")
    if not event or not call_id or len(call_id) > MAX_CALL_ID:
        raise PushError(HTTPStatus.BAD_REQUEST, "no event or call id")
    return Push(
        event=event,
        call_id=call_id,
        direction=first("direction"),
        from_number=e164(first("from")),
        to_number=e164(first("to")),
        users=tuple(user for user in values.get("user[]", ()) if user),
        answering_number=e164(first("answeringNumber")),
        answered_by=first("user") or None,
        cause=first("cause") or None,
    )


def e164(value: str | None) -> str | None:
    """Return a number of a push as E.164 (``+492111234567``), or ``None``.

    sipgate sends digits without ``+``; ``anonymous``, an empty value or
    anything that is not digits is no number.
    """
    if value is None or not _DIGITS.fullmatch(value):
        return None
    return value if value.startswith("+") else f"+{value}"


def answer_to_new_call(url: str | None) -> str:
    """Return the XML answer to ``newCall`` that only observes the call.

    With ``url`` it asks sipgate to push ``answer`` and ``hangup`` there too;
    it never routes, rejects or records the call.
    """
    follow = (
        "" if url is None else f" onAnswer={quoteattr(url)} onHangup={quoteattr(url)}"
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response{follow}/>\n'
