"""Diagnostics of a sipgate config entry, with the token redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant

from .const import CONF_TOKEN_ID
from .data import SipgateConfigEntry

TO_REDACT = {CONF_TOKEN, CONF_TOKEN_ID}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SipgateConfigEntry
) -> dict[str, Any]:
    """Return the entry's settings, account and call counts since setup."""
    runtime = entry.runtime_data
    return {
        "data": async_redact_data(entry.data, TO_REDACT),
        "defaults": dict(entry.options),
        "account": asdict(runtime.account),
        "calls": {
            "succeeded": runtime.calls_succeeded,
            "failed": runtime.calls_failed,
            "last_error": runtime.last_error,
        },
    }
