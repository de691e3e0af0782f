"""Tests of phone number and extension normalisation."""

import pytest

from custom_components.sipgate.validation import (
    normalize_caller,
    normalize_extension,
    normalize_number,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+49 (211) 123-456", "+49211123456"),
        ("0049211123456", "+49211123456"),
        ("0211 123456", "0211123456"),
        ("0211/123.456", "0211123456"),
        ("+1234567", "+1234567"),
        ("+123456789012345", "+123456789012345"),
        ("112", "112"),
        ("123456789012345", "123456789012345"),
        ("\t0211 123456 ", "0211123456"),
        ("", None),
        ("12", None),
        ("+123456", None),
        ("+1234567890123456", None),
        ("1234567890123456", None),
        ("0211-CALL-ME", None),
        ("++49211123456", None),
        ("+49+211", None),
        ("00", None),
    ],
)
def test_normalize_number(value: str, expected: str | None) -> None:
    """Separators go, 00 becomes +, and only plausible numbers pass."""
    assert normalize_number(value) == expected


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
    ],
)
def test_normalize_extension(value: str, expected: str | None) -> None:
    """Extensions are matched case-insensitively and sent in lower case."""
    assert normalize_extension(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Y1", "y1"), ("0211 123456", "0211123456"), ("w0", None)],
)
def test_normalize_caller(value: str, expected: str | None) -> None:
    """A caller is an extension or a phone number."""
    assert normalize_caller(value) == expected
