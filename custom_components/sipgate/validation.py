"""Checks and normalisation of what users type: numbers, extensions, the token.

Only ASCII digits are digits here: fullwidth or Arabic-Indic digits, which
Python's regular expressions and ``str.isdigit`` take for digits, are not.
"""

import ipaddress
import re
import socket
from typing import Final

from yarl import URL

_SEPARATORS: Final = re.compile(r"[\s\-/.()]")
# + and the country code with 7 to 15 digits in all (E.164); a national
# number with its leading 0; or a short number such as 110 or 116117.
_NUMBER: Final = re.compile(r"\+[1-9][0-9]{6,14}|0[1-9][0-9]{1,13}|[1-9][0-9]{2,5}")
# 7 to 15 digits without +, 00 or 0: with or without a country code?
_AMBIGUOUS: Final = re.compile(r"[1-9][0-9]{6,14}")
# VoIP phone (e), user phoneline (p), external phone (x), mobile phone (y).
_EXTENSION: Final = re.compile(r"[epxy](?:0|[1-9][0-9]*)")
# SMS extension (s).
_SMS_ID: Final = re.compile(r"s(?:0|[1-9][0-9]*)")
# The cloud metadata service's IPv6 address (AWS); its IPv4 one is link-local.
_METADATA: Final = ipaddress.ip_address("fd00:ec2::254")


def _digits_and_plus(value: str) -> str:
    """Return the value without separators, with a leading 00 as +."""
    number = _SEPARATORS.sub("", value)
    return f"+{number[2:]}" if number.startswith("00") else number


def normalize_number(value: str) -> str | None:
    """Return the number sipgate should dial, or ``None`` if it is not one.

    Spaces and ``-``, ``/``, ``.``, ``(``, ``)`` are removed and a leading
    ``00`` becomes ``+``. The result must be ``+`` and 7-15 digits, a national
    number with its leading ``0`` (3-15 digits), or a short number of 3-6
    digits: ``+49 (211) 123-456`` gives ``+49211123456`` and ``0211 123456``
    gives ``0211123456``. Longer numbers without ``+``, ``00`` or ``0`` are
    refused (see ``is_ambiguous_number``).
    """
    if _NUMBER.fullmatch(value):  # already as sipgate wants it
        return value
    number = _digits_and_plus(value)
    return number if _NUMBER.fullmatch(number) else None


def is_ambiguous_number(value: str) -> bool:
    """Return whether the value is 7-15 digits without ``+``, ``00`` or ``0``.

    ``492111234567`` may be meant as ``+49 211 1234567`` (sipgate reads it so)
    or as a national number that lost its leading 0; the integration does not
    guess which number to dial.
    """
    return _AMBIGUOUS.fullmatch(_digits_and_plus(value)) is not None


def normalize_extension(value: str) -> str | None:
    """Return a device extension such as ``e0`` in lower case, or ``None``."""
    return _identifier(value, _EXTENSION)


def normalize_sms_id(value: str) -> str | None:
    """Return an SMS extension such as ``s0`` in lower case, or ``None``."""
    return _identifier(value, _SMS_ID)


def _identifier(value: str, pattern: re.Pattern[str]) -> str | None:
    """Return an extension in lower case if it matches the pattern."""
    identifier = value.strip().lower()
    return identifier if pattern.fullmatch(identifier) else None


def normalize_caller(value: str) -> str | None:
    """Return a caller, which is a device extension or a phone number."""
    return normalize_extension(value) or normalize_number(value)


def normalize_call_id(value: str) -> str | None:
    """Return a call id without surrounding spaces, or ``None``.

    sipgate's call ids are long hexadecimal texts; anything printable and
    ASCII of up to 512 characters is accepted (the client escapes it).
    """
    call_id = value.strip()
    if call_id and len(call_id) <= 512 and call_id.isascii() and call_id.isprintable():  # noqa: PLR2004
        return call_id
    return None


def normalize_credential(value: str) -> str | None:
    """Return a token ID or token without surrounding spaces, or ``None``.

    sipgate's token IDs and tokens are printable ASCII; anything else (blank,
    control characters, other scripts, lone surrogates) cannot be one.
    """
    credential = value.strip()
    if credential and credential.isascii() and credential.isprintable():
        return credential
    return None


def normalize_base_url(value: str) -> str | None:
    """Return the API address without a trailing slash, or ``None``.

    The token goes to this address, so only addresses it may go to pass:
    ``https://`` to any host; ``http://`` only to ``localhost`` or an IP
    address of a loopback or private network (a local test server); never to
    a link-local or cloud metadata address; no user name, password, query or
    fragment.
    """
    try:
        url = URL(value.strip())
    except ValueError:
        return None
    if (
        url.scheme not in {"http", "https"}
        or not url.host
        or url.user is not None
        or url.password is not None
        or url.query_string
        or url.fragment
    ):
        return None
    address = _ip_address(url.host)
    if address is not None and (
        address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address == _METADATA
    ):
        return None
    if url.scheme == "http" and not (
        url.host == "localhost"
        or (address is not None and (address.is_loopback or address.is_private))
    ):
        return None
    return str(url).rstrip("/")


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the address a host names literally, or ``None`` for a name.

    The system resolver also reads ``2852039166`` or ``0xa9fea9fe`` as IPv4
    addresses; IPv4-mapped IPv6 addresses count as their IPv4 address.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
