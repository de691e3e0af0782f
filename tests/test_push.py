"""Tests of verifying, reading and answering sipgate.io pushes."""

import base64
from http import HTTPStatus
import json
from pathlib import Path
import re
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
import pytest

from custom_components.sipgate.push import (
    MAX_CALL_ID,
    Push,
    PushError,
    answer_to_new_call,
    e164,
    load_public_key,
    parse,
    verify,
)
from custom_components.sipgate.push_receiver import SIPGATE_KEY_FILE

from . import plain_id

# A newCall push as sipgate sent it, with sipgate's signature.
RECORDED = json.loads(
    (Path(__file__).parent / "fixtures" / "sipgate_push.json").read_text("utf-8")
)
SIPGATE_KEY = load_public_key(SIPGATE_KEY_FILE.read_text(encoding="ascii"))
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """Return the PEM of a private key's public key."""
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def sign(body: bytes, key: rsa.RSAPrivateKey = OTHER) -> str:
    """Return the base64 signature of a body, as sipgate makes it."""
    return base64.b64encode(
        key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    ).decode()


def test_a_real_sipgate_push_verifies_with_the_shipped_key() -> None:
    """Sipgate's own push passes the check with the key in the integration."""
    body = RECORDED["body"].encode()
    verify(SIPGATE_KEY, body, RECORDED["signature"])
    assert parse(body) == Push(
        event="newCall",
        call_id=(
            "54566B150B0C0D3A5D534D5F565D7C5F54535A5C5B53525A7E5B5D5745504457444C425D5057"
        ),
        direction="in",
        from_number="+491776249000",
        to_number="+4928559389086",
    )


@pytest.mark.parametrize(
    ("body", "signature", "reason"),
    [
        (
            RECORDED["body"].replace("from=49177", "from=49178"),
            RECORDED["signature"],
            "wrong signature",
        ),
        (RECORDED["body"] + "&x=1", RECORDED["signature"], "wrong signature"),
        (RECORDED["body"], None, "no signature"),
        (RECORDED["body"], "", "no signature"),
        (RECORDED["body"], "not base64!", "malformed signature"),
        (RECORDED["body"], "QUJD", "wrong signature"),
        (RECORDED["body"], "A" * 5000, "malformed signature"),
        # The longest signature looked at: base64, so it is checked.
        (RECORDED["body"], "A" * 4096, "wrong signature"),
        # Base64 with a character that is not: refused, not skipped.
        (RECORDED["body"], "QUJD!", "malformed signature"),
        (RECORDED["body"], sign(RECORDED["body"].encode()), "wrong signature"),
    ],
    # Fixed ids: the last signature differs at every run.
    ids=[
        "body_changed",
        "body_extended",
        "no_signature",
        "empty_signature",
        "not_base64",
        "too_short",
        "too_long",
        "longest",
        "stray_character",
        "another_key",
    ],
)
def test_refused_signatures(body: str, signature: str | None, reason: str) -> None:
    """A changed body, no or a garbled signature, another key: 401."""
    with pytest.raises(PushError) as excinfo:
        verify(SIPGATE_KEY, body.encode(), signature)
    assert excinfo.value.status == HTTPStatus.UNAUTHORIZED
    assert str(excinfo.value) == reason


def test_another_key_verifies_its_own_pushes() -> None:
    """A key from the options (the sandbox's) verifies what it signed."""
    body = b"event=hangup&callId=ABC"
    verify(load_public_key(pem(OTHER)), body, sign(body))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a PEM public key: ValueError"),
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "not a PEM public key: ValueError",
        ),
        ("\ud800", "not a PEM public key: UnicodeEncodeError"),
        (pem(ec.generate_private_key(ec.SECP256R1())), "not an RSA public key"),
    ],
    ids=["empty", "not_a_key", "surrogate", "elliptic_curve"],
)
def test_load_public_key_refuses(text: str, message: str) -> None:
    """Only an RSA public key in PEM form is a key."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        load_public_key(text)


def test_load_public_key_strips_spaces() -> None:
    """Keys pasted with spaces or blank lines around them load."""
    assert load_public_key(f"\n  {pem(OTHER)}  \n").public_numbers() == (
        OTHER.public_key().public_numbers()
    )


def form(*fields: tuple[str, str]) -> bytes:
    """Return a form body of the fields, in order."""
    return urlencode(fields).encode()


def test_parse_every_field() -> None:
    """The fields of the three events, with repeated user[] and E.164 numbers."""
    assert parse(
        form(
            ("event", "newCall"),
            ("callId", "C1"),
            ("direction", "in"),
            ("from", "anonymous"),
            ("to", "4921199990"),
            ("user[]", "Erika Mustermann"),
            ("user[]", ""),
            ("user[]", "Max Mustermann"),
            ("userId[]", "w0"),
        )
    ) == Push(
        event="newCall",
        call_id="C1",
        direction="in",
        from_number=None,
        to_number="+4921199990",
        users=("Erika Mustermann", "Max Mustermann"),
    )
    assert parse(
        form(
            ("event", "answer"),
            ("callId", "C1"),
            ("answeringNumber", "4921199990"),
            ("user", "Erika Mustermann"),
        )
    ) == Push(
        event="answer",
        call_id="C1",
        answering_number="+4921199990",
        answered_by="Erika Mustermann",
    )
    assert parse(form(("event", "hangup"), ("callId", "C1"), ("cause", "busy"))) == (
        Push(event="hangup", call_id="C1", cause="busy")
    )


NO_EVENT = "no event or call id"
NOT_A_FORM = "not a form"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", NO_EVENT),
        (form(("callId", "C1")), NO_EVENT),
        (form(("event", "newCall")), NO_EVENT),
        (form(("event", ""), ("callId", "C1")), NO_EVENT),
        (form(("event", "newCall"), ("callId", "")), NO_EVENT),
        (form(("event", "newCall"), ("callId", "C" * (MAX_CALL_ID + 1))), NO_EVENT),
        # The first value counts, even a blank one.
        (form(("event", "newCall"), ("callId", ""), ("callId", "C1")), NO_EVENT),
        (form(("event", ""), ("event", "newCall"), ("callId", "C1")), NO_EVENT),
        (b"event=newCall&callId=C1&\xff\xfe", NOT_A_FORM),
        (b"event=newCall&callId", NOT_A_FORM),
        # Fields without "=", or empty ones, make it no form.
        (b"event=newCall&callId=C1&x", NOT_A_FORM),
        (b"event=newCall&&callId=C1", NOT_A_FORM),
        (b"&".join([b"a=1"] * 100) + b"&event=newCall&callId=C1", NOT_A_FORM),
        (b'{"event": "newCall", "callId": "C1"}', NOT_A_FORM),
    ],
    ids=plain_id,
)
def test_parse_refuses(body: bytes, reason: str) -> None:
    """Without event or call id, or not a form: 400, with the reason."""
    with pytest.raises(PushError) as excinfo:
        parse(body)
    assert excinfo.value.status == HTTPStatus.BAD_REQUEST
    assert str(excinfo.value) == reason


def test_parse_keeps_blank_values() -> None:
    """A blank field is a field: the first direction is blank, not "out"."""
    push = parse(
        form(
            ("event", "answer"),
            ("callId", "C1"),
            ("direction", ""),
            ("direction", "out"),
        )
    )
    assert push.direction == ""


def test_long_call_id_is_kept() -> None:
    """Call ids of up to MAX_CALL_ID characters are kept as they are."""
    call_id = "A" * MAX_CALL_ID
    assert parse(form(("event", "hangup"), ("callId", call_id))).call_id == call_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("492111234567", "+492111234567"),
        ("+492111234567", "+492111234567"),
        ("112", "+112"),
        ("anonymous", None),
        ("", None),
        (None, None),
        ("49 211", None),
        ("\u0664\u0669", None),
        ("1" * 21, None),
    ],
)
def test_e164(value: str | None, expected: str | None) -> None:
    """Digits get a +; anonymous and anything else is no number."""
    assert e164(value) == expected


def test_answer_to_new_call() -> None:
    """The answer only asks for the follow-up events, with the URL escaped."""
    url = 'https://example.com/api/webhook/a&b"c'
    assert answer_to_new_call(url) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Response onAnswer='https://example.com/api/webhook/a&amp;b\"c' "
        "onHangup='https://example.com/api/webhook/a&amp;b\"c'/>\n"
    )
    assert answer_to_new_call(None) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response/>\n'
    )
