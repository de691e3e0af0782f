"""Contacts: config subentries with a Call button and an SMS entity each."""

from types import MappingProxyType
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sipgate.const import DOMAIN
from homeassistant.components import persistent_notification
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from sipgate_lab.sandbox import TOKEN_NO_DEVICES, SipgateSandbox

from .conftest import use_token

EVENT = "event.sipgate_1234567w0_calls"
BUTTON = "button.oma_erna_call"
NOTIFY = "notify.oma_erna_sms"


def contact(name: str, number: str, **data: str) -> ConfigSubentry:
    """Return a contact subentry."""
    return ConfigSubentry(
        data=MappingProxyType({"number": number, **data}),
        subentry_type="contact",
        title=name,
        unique_id=number,
    )


async def add(
    hass: HomeAssistant, entry: MockConfigEntry, *contacts: ConfigSubentry
) -> None:
    """Add contacts to the entry and wait for its reload."""
    for subentry in contacts:
        hass.config_entries.async_add_subentry(entry, subentry)
    await hass.async_block_till_done()


async def start_flow(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str | None = None
) -> dict[str, Any]:
    """Open the contact form: a new contact, or the one of ``subentry_id``."""
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "contact"), context=context
    )
    return dict(result)


def contact_device(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry, subentry_id: str
) -> dr.DeviceEntry | None:
    """Return the device of a contact, if there is one."""
    return next(
        (
            device
            for device in dr.async_entries_for_config_entry(
                device_registry, entry.entry_id
            )
            if device.identifiers == {(DOMAIN, f"1234567w0_{subentry_id}")}
        ),
        None,
    )


def fields(result: dict[str, Any]) -> dict[str, Any]:
    """Return each field of a form with its suggested value."""
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


async def test_add_a_contact(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The form refuses what is not a contact, then adds its device and entities."""
    result = await start_flow(hass, init_integration)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["description_placeholders"] == {"account": "sipgate 1234567w0"}
    assert list(fields(result)) == ["name", "number", "device_id", "caller_id"]
    number_field = result["data_schema"].schema["number"]
    assert number_field.config["type"] == "tel"
    # The account's phones to pick from, as in the options.
    device_field = result["data_schema"].schema["device_id"]
    assert "e0" in [option["value"] for option in device_field.config["options"]]

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": " ", "number": "12", "caller_id": "abc"},
    )
    assert result["errors"] == {
        "name": "invalid_name",
        "number": "invalid_number",
        "caller_id": "invalid_caller_id",
    }
    # The form keeps what was typed.
    assert fields(dict(result))["number"] == "12"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Oma Erna", "number": "492111234567"}
    )
    assert result["errors"] == {"number": "ambiguous_number"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "x" * 101, "number": "+492111234567"}
    )
    assert result["errors"] == {"name": "invalid_name"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": " Oma Erna ", "number": "+49 211 1234567"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Oma Erna"
    assert result["data"] == {"number": "+492111234567"}
    await hass.async_block_till_done()

    (subentry,) = init_integration.subentries.values()
    assert subentry.unique_id == "+492111234567"
    device = contact_device(device_registry, init_integration, subentry.subentry_id)
    assert device is not None
    assert device.name == "Oma Erna"
    assert device.model == "contact"
    assert device.manufacturer == "sipgate"
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    if hasattr(device, "config_subentry_id"):  # Home Assistant 2026.10 and later
        assert device.config_subentry_id == subentry.subentry_id
    else:
        assert device.config_entries_subentries == {
            init_integration.entry_id: {subentry.subentry_id}
        }
    for entity_id, key, name in (
        (BUTTON, "call", "Oma Erna Call"),
        (NOTIFY, "sms", "Oma Erna SMS"),
    ):
        registered = entity_registry.async_get(entity_id)
        assert registered is not None
        assert registered.unique_id == f"1234567w0_{subentry.subentry_id}_{key}"
        assert registered.config_subentry_id == subentry.subentry_id
        assert registered.device_id == device.id
        assert registered.translation_key == key
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes["friendly_name"] == name
    # The account's own entities stay on the account's device.
    account_entity = entity_registry.async_get("button.sipgate_1234567w0_hang_up")
    assert account_entity is not None
    assert account_entity.device_id != device.id
    assert account_entity.config_subentry_id is None


@pytest.mark.parametrize("name", ["E", "x" * 100])
async def test_names_of_1_to_100_characters(
    hass: HomeAssistant, init_integration: MockConfigEntry, name: str
) -> None:
    """The shortest and the longest name a contact may have."""
    result = await start_flow(hass, init_integration)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": name, "number": "+492111234567"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == name


async def test_the_same_number_twice_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Written differently, the same number is the same contact."""
    await add(hass, init_integration, contact("Oma Erna", "+492111234567"))
    result = await start_flow(hass, init_integration)
    for number in ("0049 211 1234567", "0211 1234567"):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Erna", "number": number}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"number": "number_in_use"}
    assert len(init_integration.subentries) == 1


async def test_without_a_device_list(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Without devices:read the phone is typed, and it may stay empty."""
    mock_config_entry.add_to_hass(hass)
    use_token(hass, mock_config_entry, TOKEN_NO_DEVICES)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    result = await start_flow(hass, mock_config_entry)
    assert not hasattr(result["data_schema"].schema["device_id"], "config") or (
        "options" not in result["data_schema"].schema["device_id"].config
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Nachbar", "number": "0211 555", "device_id": "z9"}
    )
    assert result["errors"] == {"device_id": "invalid_device"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Nachbar", "number": "0211 555", "device_id": " Y0 ", "caller_id": ""},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"number": "0211555", "device_id": "y0"}


async def test_change_a_contact(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    sandbox: SipgateSandbox,
) -> None:
    """The form shows the contact; the change renames its device and is used."""
    await add(
        hass,
        init_integration,
        contact("Oma Erna", "+492111234567"),
        contact("Nachbar Klaus", "+492115550000"),
    )
    oma = next(s for s in init_integration.subentries.values() if s.title == "Oma Erna")
    result = await start_flow(hass, init_integration, oma.subentry_id)
    assert result["step_id"] == "reconfigure"
    assert fields(result) == {
        "name": "Oma Erna",
        "number": "+492111234567",
        "device_id": None,
        "caller_id": None,
    }
    # The number may stay; another contact's is refused.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Oma", "number": "+49 211 5550000"}
    )
    assert result["errors"] == {"number": "number_in_use"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Oma",
            "number": "+49 211 1234568",
            "device_id": "y0",
            "caller_id": "0211 999",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.subentries[oma.subentry_id].title == "Oma"
    assert dict(init_integration.subentries[oma.subentry_id].data) == {
        "number": "+492111234568",
        "device_id": "y0",
        "caller_id": "0211999",
    }
    assert init_integration.subentries[oma.subentry_id].unique_id == "+492111234568"
    device = contact_device(device_registry, init_integration, oma.subentry_id)
    assert device is not None
    assert device.name == "Oma"
    # The entity keeps its id; the press uses the changed contact.
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    (request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    assert request.json == {
        "caller": "y0",
        "callee": "+492111234568",
        "deviceId": "y0",
        "callerId": "0211999",
    }


async def test_remove_a_contact(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Its device and entities go; the other contact's and the account's stay."""
    await add(
        hass,
        init_integration,
        contact("Oma Erna", "+492111234567"),
        contact("Nachbar Klaus", "+492115550000"),
    )
    oma = next(s for s in init_integration.subentries.values() if s.title == "Oma Erna")
    hass.config_entries.async_remove_subentry(init_integration, oma.subentry_id)
    await hass.async_block_till_done()
    assert contact_device(device_registry, init_integration, oma.subentry_id) is None
    assert entity_registry.async_get(BUTTON) is None
    assert entity_registry.async_get(NOTIFY) is None
    assert hass.states.get(BUTTON) is None
    assert hass.states.get(NOTIFY) is None
    assert entity_registry.async_get("button.nachbar_klaus_call") is not None
    assert hass.states.get("button.nachbar_klaus_call") is not None
    assert hass.states.get("sensor.sipgate_1234567w0_call_state") is not None
    devices = dr.async_entries_for_config_entry(
        device_registry, init_integration.entry_id
    )
    assert sorted(device.name or "" for device in devices) == [
        "Nachbar Klaus",
        "sipgate 1234567w0",
    ]


async def test_options_do_not_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Options are read when used; only contacts reload the entry."""
    runtime = init_integration.runtime_data
    hass.config_entries.async_update_entry(
        init_integration, options={**init_integration.options, "sms_id": "s1"}
    )
    await hass.async_block_till_done()
    assert init_integration.runtime_data is runtime
    await add(hass, init_integration, contact("Oma Erna", "+492111234567"))
    assert init_integration.runtime_data is not runtime


async def test_press_calls_the_contact(
    hass: HomeAssistant, init_integration: MockConfigEntry, sandbox: SipgateSandbox
) -> None:
    """One call with the account's defaults; a failure is told as for the action."""
    await add(hass, init_integration, contact("Oma Erna", "02111234567"))
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    (request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    assert request.json == {
        "caller": "e0",
        "callee": "02111234567",
        "deviceId": "e0",
        "callerId": "+49211999000",
    }
    sandbox.scenario.balance = 0
    with pytest.raises(HomeAssistantError) as excinfo:
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    assert excinfo.value.translation_key == "insufficient_funds"
    assert len(sandbox.requests_to("POST", "/v2/sessions/calls")) == 2
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    (notification,) = notifications.values()
    assert notification["title"] == "Call to 02111234567 failed"
    assert "Top up your sipgate balance" in notification["message"]


@pytest.mark.parametrize("number", ["+492111234567", "02111234567"])
async def test_contacts_name_callers(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    sandbox: SipgateSandbox,
    number: str,
) -> None:
    """A contact names its calls without asking sipgate, national numbers too."""
    await add(hass, push_entry, contact("Tante Frieda", number))
    await sandbox.simulate_call(push_url, from_="492111234567", hangup="on_delete")
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get("sensor.sipgate_1234567w0_call_state")
    assert state is not None
    assert state.attributes["caller_name"] == "Tante Frieda"
    assert not sandbox.requests_to("GET", "/v2/contacts")
    event = hass.states.get(EVENT)
    assert event is not None
    assert event.attributes["caller_name"] == "Tante Frieda"


async def test_two_accounts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    second_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """A contact calls and texts with its own account, not the only one."""
    await add(hass, second_entry, contact("Oma Erna", "+492111234567"))
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    (request,) = sandbox.requests_to("POST", "/v2/sessions/calls")
    # The second account's default phone and caller ID.
    assert request.json == {
        "caller": "y0",
        "callee": "+492111234567",
        "deviceId": "y0",
        "callerId": "+49211888000",
    }
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": NOTIFY, "message": "Hallo"},
        blocking=True,
    )
    (sms,) = sandbox.requests_to("POST", "/v2/sessions/sms")
    assert sms.json["recipient"] == "+492111234567"


async def test_hang_up_with_two_accounts(
    hass: HomeAssistant,
    push_entry: MockConfigEntry,
    push_url: str,
    second_entry: MockConfigEntry,
    sandbox: SipgateSandbox,
) -> None:
    """The Hang up button ends its own account's call; so does the action."""
    call = await sandbox.simulate_call(push_url, hangup="on_delete")
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.sipgate_1234567w0_hang_up"},
        blocking=True,
    )
    assert len(sandbox.requests_to("DELETE", f"/v2/calls/{call.call_id}")) == 1
    response = await hass.services.async_call(
        DOMAIN,
        "hangup_call",
        {"call_id": "0123", "config_entry_id": second_entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response == {"hung_up": False}
