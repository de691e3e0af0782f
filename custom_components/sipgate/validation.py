"""Normalisation of phone numbers and device extensions before a call."""

import re
from typing import Final

_SEPARATORS: Final = re.compile(r"[\s\-/.()]")
_INTERNATIONAL: Final = re.compile(r"\+\d{7,15}")
_NATIONAL: Final = re.compile(r"\d{3,15}")
# VoIP phone (e), user phoneline (p), external phone (x), mobile phone (y).
_EXTENSION: Final = re.compile(r"[epxy](?:0|[1-9]\d*)")


def normalize_number(value: str) -> str | None:
    """Return the number sipgate should dial, or ``None`` if it is not one.

    Spaces and ``-``, ``/``, ``.``, ``(``, ``)`` are removed and a leading
    ``00`` becomes ``+``. The result must be ``+`` and 7-15 digits, or a
    national number of 3-15 digits: ``+49 (211) 123-456`` gives
    ``+49211123456`` and ``0211 123456`` gives ``0211123456``.
    """
    number = _SEPARATORS.sub("", value)
    if number.startswith("00"):
        number = f"+{number[2:]}"
    if _INTERNATIONAL.fullmatch(number) or _NATIONAL.fullmatch(number):
        return number
    return None


def normalize_extension(value: str) -> str | None:
    """Return a device extension such as ``e0`` in lower case, or ``None``."""
    extension = value.strip().lower()
    return extension if _EXTENSION.fullmatch(extension) else None


def normalize_caller(value: str) -> str | None:
    """Return a caller, which is a device extension or a phone number."""
    return normalize_extension(value) or normalize_number(value)
