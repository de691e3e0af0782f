"""Tests of verifying, reading and answering sipgate.io pushes."""

import base64
from http import HTTPStatus
import json
from pathlib import Path
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
        (RECORDED["body"], sign(RECORDED["body"].encode()), "wrong signature"),
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
)
def test_load_public_key_refuses(text: str, message: str) -> None:
    """Only an RSA public key in PEM form is a key."""
    with pytest.raises(ValueError, match=message):
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


@pytest.mark.parametrize(
    "body",
    [
        b"",
        form(("callId", "C1")),
        form(("event", "newCall")),
        form(("event", ""), ("callId", "C1")),
        form(("event", "newCall"), ("callId", "")),
        form(("event", "newCall"), ("callId", "C" * (MAX_CALL_ID + 1))),
        b"event=newCall&callId=C1&\xff\xfe",
        b"event=newCall&callId",
        b"&".join([b"a=1"] * 100) + b"&event=newCall&callId=C1",
        b'{"event": "newCall", "callId": "C1"}',
    ],
)
def test_parse_refuses(body: bytes) -> None:
    """Without event or call id, or not a form: 400."""
    with pytest.raises(PushError) as excinfo:
        parse(body)
    assert excinfo.value.status == HTTPStatus.BAD_REQUEST


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
