"""Diagnostics of a sipgate config entry, with the secrets redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .const import CONF_CLOUDHOOK_URL, CONF_PUSH_PUBLIC_KEY, CONF_TOKEN_ID
from .contacts import contacts
from .data import SipgateConfigEntry

# The token, and the webhook's id and URLs: whoever knows them could use the
# account or feed the webhook (its pushes would still fail verification).
TO_REDACT = {CONF_TOKEN, CONF_TOKEN_ID, CONF_WEBHOOK_ID, CONF_CLOUDHOOK_URL}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SipgateConfigEntry
) -> dict[str, Any]:
    """Return the settings, the account, the requests and the pushes.

    Of the contacts only their number is told: names and phone numbers are
    personal data.
    """
    runtime = entry.runtime_data
    push = runtime.push
    options = dict(entry.options)
    if options.get(CONF_PUSH_PUBLIC_KEY):
        options[CONF_PUSH_PUBLIC_KEY] = "(another key than sipgate's)"
    return {
        "data": async_redact_data(entry.data, TO_REDACT),
        "options": options,
        "account": asdict(runtime.account),
        "requests": {
            "succeeded": runtime.requests_succeeded,
            "failed": runtime.requests_failed,
            "last_error": runtime.last_error,
        },
        "pushes": {
            "verified": push.verified,
            "refused": push.refused,
            "refused_in_a_row": push.refused_in_a_row,
            "replays": push.replays,
        },
        "calls": {
            "state": runtime.calls.state,
            "active": len(runtime.calls.calls),
        },
        "contacts": len(contacts(entry)),
        "balance": {
            "readable": runtime.balance.data is not None,
            "last_read_succeeded": runtime.balance.last_update_success,
        },
    }
