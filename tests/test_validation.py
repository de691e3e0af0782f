"""Tests of the checks of numbers, extensions, credentials and the API address."""

import pytest

from custom_components.sipgate.validation import (
    is_ambiguous_number,
    normalize_base_url,
    normalize_call_id,
    normalize_caller,
    normalize_credential,
    normalize_extension,
    normalize_number,
    normalize_sms_id,
)

from . import plain_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+49 (211) 123-456", "+49211123456"),
        ("0049211123456", "+49211123456"),
        ("0211 123456", "0211123456"),
        ("0211/123.456", "0211123456"),
        ("+1234567", "+1234567"),
        ("+123456789012345", "+123456789012345"),
        ("012", "012"),
        ("012345678901234", "012345678901234"),
        ("112", "112"),
        ("116117", "116117"),
        ("\t0211 123456 ", "0211123456"),
        ("\u00a00211\u2009123456", "0211123456"),
        ("", None),
        ("12", None),
        ("01", None),
        ("+123456", None),
        ("+1234567890123456", None),
        ("0123456789012345", None),
        ("+0211123456", None),
        ("1234567", None),
        ("492111234567", None),
        ("0211-CALL-ME", None),
        ("++49211123456", None),
        ("+49+211", None),
        ("00", None),
        # Digits of other scripts are not digits here.
        ("\uff10\uff12\uff11\uff11\uff11\uff12\uff13", None),
        ("+\u0664\u0669\u0662\u0661\u0661\u0661\u0662\u0663", None),
        ("0211\u0661\u0662\u0663", None),
    ],
)
def test_normalize_number(value: str, expected: str | None) -> None:
    """Separators go, 00 becomes +, and only plausible numbers pass."""
    assert normalize_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("492111234567", True),
        ("49 211 1234567", True),
        ("1234567", True),
        ("123456789012345", True),
        ("123456", False),
        ("1234567890123456", False),
        ("0211123456", False),
        ("+492111234567", False),
        ("00492111234567", False),
        ("\u0664\u0669\u0662\u0661\u0661\u0661\u0662\u0663", False),
    ],
)
def test_is_ambiguous_number(value: str, expected: bool) -> None:
    """7-15 bare digits could be meant with or without a country code."""
    assert is_ambiguous_number(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("e0", "e0"),
        ("E0", "e0"),
        (" y12 ", "y12"),
        ("x1", "x1"),
        ("p0", "p0"),
        ("e01", None),
        ("w0", None),
        ("e", None),
        ("0", None),
        ("", None),
        ("e\u0661\u0663", None),
        ("e\uff11", None),
    ],
)
def test_normalize_extension(value: str, expected: str | None) -> None:
    """Extensions are matched case-insensitively and sent in lower case."""
    assert normalize_extension(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Y1", "y1"), ("0211 123456", "0211123456"), ("w0", None), ("492111234", None)],
)
def test_normalize_caller(value: str, expected: str | None) -> None:
    """A caller is an extension or a phone number."""
    assert normalize_caller(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" token-ABC123 ", "token-ABC123"),
        (
            "5e0d7b1c-3f4a-4c2e-9b8d-1a2b3c4d5e6f",
            "5e0d7b1c-3f4a-4c2e-9b8d-1a2b3c4d5e6f",
        ),
        ("", None),
        (" \t ", None),
        ("\ud800", None),
        ("token-\u00e4bc", None),
        ("tok\nen", None),
        ("tok\x00en", None),
    ],
)
def test_normalize_credential(value: str, expected: str | None) -> None:
    """Token ID and token are printable ASCII; anything else is refused."""
    assert normalize_credential(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://api.sipgate.com/v2", "https://api.sipgate.com/v2"),
        (" https://api.sipgate.com/v2/ ", "https://api.sipgate.com/v2"),
        ("https://API.sipgate.com", "https://api.sipgate.com"),
        ("https://203.0.113.7:8443/v2", "https://203.0.113.7:8443/v2"),
        ("http://127.0.0.1:8099/v2", "http://127.0.0.1:8099/v2"),
        ("http://localhost:8099/v2/", "http://localhost:8099/v2"),
        ("https://example.com/apiX/", "https://example.com/apiX"),
        ("http://[::1]:8099/v2", "http://[::1]:8099/v2"),
        ("http://192.168.1.20/v2", "http://192.168.1.20/v2"),
        ("http://10.0.0.2/v2", "http://10.0.0.2/v2"),
        ("http://[fd12:3456::1]/v2", "http://[fd12:3456::1]/v2"),
        # Plain http to a public address or to a name could leak the token.
        ("http://api.sipgate.com/v2", None),
        ("http://93.184.215.14/v2", None),
        ("http://sandbox.lan:8099/v2", None),
        # Link-local and cloud metadata addresses, in every spelling.
        ("http://169.254.169.254/latest", None),
        ("https://169.254.169.254/latest", None),
        ("http://[fd00:ec2::254]/latest", None),
        ("http://[fe80::1]/v2", None),
        ("http://2852039166/", None),
        ("http://0xa9fea9fe/", None),
        ("http://[::ffff:169.254.169.254]/", None),
        ("http://0.0.0.0:8099/v2", None),
        # Credentials, queries and fragments have no place in the address.
        ("https://user:secret@api.sipgate.com/v2", None),
        ("https://user@api.sipgate.com/v2", None),
        ("https://api.sipgate.com/v2?debug=1", None),
        ("https://api.sipgate.com/v2#top", None),
        ("ftp://api.sipgate.com/v2", None),
        ("api.sipgate.com/v2", None),
        ("https://", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_normalize_base_url(value: str, expected: str | None) -> None:
    """Https to any host; http only to loopback or private addresses."""
    assert normalize_base_url(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" 0123ABC ", "0123ABC"),
        ("A" * 512, "A" * 512),
        ("A" * 513, None),
        ("", None),
        ("Anruf-ü", None),
        ("A\tB", None),
    ],
    ids=plain_id,
)
def test_normalize_call_id(value: str, expected: str | None) -> None:
    """Call ids: printable ASCII of up to 512 characters, trimmed."""
    assert normalize_call_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" S1 ", "s1"), ("s0", "s0"), ("s01", None), ("e0", None), ("s", None)],
)
def test_normalize_sms_id(value: str, expected: str | None) -> None:
    """SMS extensions: s and a number, in lower case."""
    assert normalize_sms_id(value) == expected
