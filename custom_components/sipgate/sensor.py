"""Sensors: the "Call state" (idle, ringing, dialing or talking) and "Balance"."""

from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .calls import CALL_STATES
from .const import DOMAIN
from .coordinator import SipgateBalanceCoordinator
from .data import SipgateConfigEntry
from .entity import SipgateEntity, account_device_info

# The call state is pushed; the balance coordinator reads the balance.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SipgateConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's call state sensor, and its balance if it may be read.

    A balance that could not be read at setup (sipgate not reachable) is added
    once it is read; the token's scopes are not known until then.
    """
    async_add_entities([SipgateCallStateSensor(entry)])
    coordinator = entry.runtime_data.balance
    if coordinator.data is not None:
        async_add_entities([SipgateBalanceSensor(entry, coordinator.data.currency)])
    elif coordinator.refused:
        # The sensor of an earlier token goes.
        registry = er.async_get(hass)
        unique_id = balance_unique_id(entry)
        if entity_id := registry.async_get_entity_id("sensor", DOMAIN, unique_id):
            registry.async_remove(entity_id)
    else:
        added = False

        @callback
        def add_when_read() -> None:
            nonlocal added
            if not added and (balance := coordinator.data) is not None:
                added = True
                async_add_entities([SipgateBalanceSensor(entry, balance.currency)])

        entry.async_on_unload(coordinator.async_add_listener(add_when_read))


def balance_unique_id(entry: SipgateConfigEntry) -> str:
    """Return the unique id of the account's balance sensor."""
    return f"{entry.runtime_data.account.unique_id}_balance"


class SipgateCallStateSensor(SipgateEntity, SensorEntity):
    """The state of the account's current call, the one that started last."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = CALL_STATES

    def __init__(self, entry: SipgateConfigEntry) -> None:
        """Be the account's "Call state" entity."""
        super().__init__(entry, "call_state")

    @property
    def native_value(self) -> str:
        """Return the current call's state, or idle."""
        return self._calls.state

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the current call and how many calls are active."""
        current = self._calls.current
        empty = dict.fromkeys(("call_id", "direction", "from", "to", "caller_name"))
        return {
            **(empty if current is None else current.attributes()),
            "active_calls": len(self._calls.calls),
        }


class SipgateBalanceSensor(CoordinatorEntity[SipgateBalanceCoordinator], SensorEntity):
    """The account's balance, in the currency sipgate keeps it in."""

    _attr_has_entity_name = True
    _attr_translation_key = "balance"
    _attr_device_class = SensorDeviceClass.MONETARY
    _attr_state_class = SensorStateClass.TOTAL
    _attr_suggested_display_precision = 2

    def __init__(self, entry: SipgateConfigEntry, currency: str) -> None:
        """Be the account's "Balance" entity, in the balance's currency."""
        super().__init__(entry.runtime_data.balance)
        self._attr_unique_id = balance_unique_id(entry)
        self._attr_device_info = account_device_info(entry)
        self._attr_native_unit_of_measurement = currency

    @property
    def available(self) -> bool:
        """Return whether sipgate showed the balance the last time it was asked."""
        return super().available and self.coordinator.data is not None

    @property
    def native_value(self) -> Decimal | None:
        """Return the balance."""
        balance = self.coordinator.data
        return None if balance is None else balance.amount
