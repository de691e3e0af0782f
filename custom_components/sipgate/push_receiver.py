"""The webhook sipgate.io pushes an account's call events to.

Every push is verified with sipgate's signing key before anything happens.
Refused pushes get 401 (signature), 413 (size) or 400 (not a push), change
nothing, and are logged without their content at most once a minute; when
they keep coming, a repair issue says so. The webhook's id and URL are
secrets: they appear nowhere but in the options step that shows the URL.
"""

from collections.abc import Mapping
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from time import monotonic
from typing import Any, Final

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from homeassistant.components import webhook
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.network import NoURLAvailableError

from .const import CONF_CLOUDHOOK_URL, CONF_PUSH_PUBLIC_KEY, DOMAIN, LOGGER
from .data import SipgateConfigEntry
from .push import (
    EVENT_NEW_CALL,
    MAX_BODY,
    SIGNATURE_HEADER,
    PushError,
    answer_to_new_call,
    load_public_key,
    parse,
    verify,
)

SIPGATE_KEY_FILE: Final = Path(__file__).with_name("sipgate-push-signing-key.pem")
ISSUE_PUSHES_REFUSED: Final = "pushes_refused"
# Refused pushes in a row (none verified between them) that raise the issue.
REFUSALS_FOR_ISSUE: Final = 5
WARNING_INTERVAL: Final = 60.0
REPLAY_WINDOW: Final = 600.0
# Methods Home Assistant would refuse itself, logging the webhook id; the
# handler refuses them without a log.
_METHODS: Final = ("POST", "GET", "PUT")


@lru_cache(maxsize=4)
def public_key(pem: str) -> RSAPublicKey:
    """Return the parsed key of a PEM text (parsed once per text)."""
    return load_public_key(pem)


def read_sipgate_key() -> str:
    """Return sipgate's public signing key, shipped with the integration."""
    return SIPGATE_KEY_FILE.read_text(encoding="ascii")


def pushes_refused_issue_id(entry_id: str) -> str:
    """Return the id of the repair issue about refused pushes."""
    return f"{ISSUE_PUSHES_REFUSED}_{entry_id}"


@callback
def async_push_url(hass: HomeAssistant, entry: SipgateConfigEntry) -> str | None:
    """Return the URL sipgate pushes to, or None if there is none.

    That is the Home Assistant Cloud webhook when one was made for the entry,
    otherwise the webhook on Home Assistant's external URL.
    """
    if url := entry.data.get(CONF_CLOUDHOOK_URL):
        return str(url)
    try:
        return webhook.async_generate_url(
            hass, entry.data[CONF_WEBHOOK_ID], allow_internal=False
        )
    except NoURLAvailableError:
        return None


@callback
def async_register_webhook(hass: HomeAssistant, entry: SipgateConfigEntry) -> None:
    """Receive the entry's pushes until it unloads."""

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        return await _async_handle(hass, entry, request)

    webhook.async_register(
        hass,
        DOMAIN,
        entry.title,
        entry.data[CONF_WEBHOOK_ID],
        handle,
        local_only=False,
        allowed_methods=_METHODS,
    )
    entry.async_on_unload(
        lambda: webhook.async_unregister(hass, entry.data[CONF_WEBHOOK_ID])
    )


async def _async_handle(
    hass: HomeAssistant, entry: SipgateConfigEntry, request: web.Request
) -> web.Response:
    """Verify, read and act on one push; answer ``newCall`` with XML."""
    runtime = entry.runtime_data
    if request.method != "POST":
        return web.Response(status=HTTPStatus.METHOD_NOT_ALLOWED)
    try:
        body = await _async_read(request)
        verify(
            public_key(_key_pem(entry.options, runtime.push.sipgate_key)),
            body,
            request.headers.get(SIGNATURE_HEADER),
        )
    except PushError as err:
        _refused(hass, entry, err, verification=True)
        return web.Response(status=err.status)
    try:
        push = parse(body)
    except PushError as err:
        _refused(hass, entry, err, verification=False)
        return web.Response(status=err.status)
    stats = runtime.push
    stats.verified += 1
    if stats.refused_in_a_row:
        stats.refused_in_a_row = 0
        ir.async_delete_issue(hass, DOMAIN, pushes_refused_issue_id(entry.entry_id))
    if _seen(stats.seen, (push.event, push.call_id)):
        stats.replays += 1
    else:
        runtime.calls.async_handle(push)
    if push.event != EVENT_NEW_CALL:
        return web.Response()
    return web.Response(
        text=answer_to_new_call(async_push_url(hass, entry)),
        content_type="application/xml",
    )


async def _async_read(request: web.Request) -> bytes:
    """Return the body; raise PushError (413) beyond MAX_BODY bytes."""
    too_large = PushError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
    if (request.content_length or 0) > MAX_BODY:
        raise too_large
    body = bytearray()
    while len(body) <= MAX_BODY:
        chunk = await request.content.read(MAX_BODY + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    raise too_large


def _key_pem(options: Mapping[str, Any], sipgate_key: str) -> str:
    """Return the PEM of the key pushes are verified with."""
    return str(options.get(CONF_PUSH_PUBLIC_KEY) or sipgate_key)


def _seen(seen: dict[tuple[str, str], float], key: tuple[str, str]) -> bool:
    """Return whether the push was seen within REPLAY_WINDOW; remember it.

    ``seen`` holds the pushes in the order they came, so the expired ones
    are at its start.
    """
    now = monotonic()
    while seen and now - next(iter(seen.values())) > REPLAY_WINDOW:
        del seen[next(iter(seen))]
    if key in seen:
        return True
    seen[key] = now
    return False


@callback
def _refused(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    err: PushError,
    *,
    verification: bool,
) -> None:
    """Count a refused push, warn once a minute, raise the issue when many."""
    stats = entry.runtime_data.push
    stats.refused += 1
    now = monotonic()
    if now - stats.last_warning >= WARNING_INTERVAL:
        stats.last_warning = now
        LOGGER.warning(
            "Refused a push to the sipgate webhook of %s (%s); %d refused since setup",
            entry.title,
            err,
            stats.refused,
        )
    if not verification:
        return
    stats.refused_in_a_row += 1
    if stats.refused_in_a_row == REFUSALS_FOR_ISSUE:
        ir.async_create_issue(
            hass,
            DOMAIN,
            pushes_refused_issue_id(entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_PUSHES_REFUSED,
            translation_placeholders={"account": entry.title},
        )
