"""Tests of setting up and unloading a sipgate entry."""

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.api import UserInfo
from custom_components.sipgate.const import CONF_BASE_URL, CONF_DEVICE_ID, DOMAIN
from custom_components.sipgate.notifications import notification_id
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from sipgate_lab.sandbox import SipgateSandbox


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A working token loads the entry; it unloads cleanly."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.account == UserInfo(
        sub="w0", master_sip_id="1234567", domain="sipgate.de", locale="de_DE"
    )
    assert hass.services.has_service(DOMAIN, "initiate_call")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hass.services.has_service(DOMAIN, "initiate_call")


async def test_setup_auth_failed_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """A 401 at setup fails the entry and asks for a new token."""
    sandbox.scenario.token_valid = False
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


async def test_setup_not_ready(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """A 5xx at setup retries later."""
    sandbox.scenario.server_error = 502
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "502" in str(mock_config_entry.reason)


async def test_setup_error(hass: HomeAssistant, entry_data: dict[str, str]) -> None:
    """A wrong API address fails setup without a reauth flow."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="1234567w0",
        data={**entry_data, CONF_BASE_URL: entry_data[CONF_BASE_URL] + "/nope"},
        options={CONF_DEVICE_ID: "e0"},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "404" in str(entry.reason)
    assert not hass.config_entries.flow.async_progress()


async def test_remove_entry_dismisses_notification(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Removing the entry removes its failure notification."""
    entry_id = init_integration.entry_id
    persistent_notification.async_create(
        hass, "failed", "title", notification_id(entry_id)
    )
    await hass.config_entries.async_remove(entry_id)
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert notification_id(entry_id) not in notifications
