"""Tests of the sipgate diagnostics."""

import json

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.sipgate.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from sipgate_lab.sandbox import TOKEN, SipgateSandbox


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    sandbox: SipgateSandbox,
    sandbox_url: str,
) -> None:
    """Diagnostics show settings, account and calls, never the token."""
    await hass.services.async_call(
        DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
    )
    sandbox.scenario.balance = 0
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN, "initiate_call", {"callee": "+49211123456"}, blocking=True
        )
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert diagnostics == {
        "data": {
            "token_id": "**REDACTED**",
            "token": "**REDACTED**",
            "base_url": sandbox_url,
        },
        "defaults": {"device_id": "e0", "caller_id": "+49211999000"},
        "account": {
            "sub": "w0",
            "master_sip_id": "1234567",
            "domain": "sipgate.de",
            "locale": "de_DE",
        },
        "calls": {
            "succeeded": 1,
            "failed": 1,
            "last_error": "SipgateInsufficientFundsError",
        },
    }
    dump = json.dumps(diagnostics)
    assert TOKEN.token not in dump
    assert TOKEN.token_id not in dump
