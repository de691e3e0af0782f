"""Runtime data of a sipgate config entry."""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .api import SipgateClient, UserInfo


@dataclass(kw_only=True)
class SipgateRuntimeData:
    """What a loaded sipgate entry keeps while Home Assistant runs."""

    client: SipgateClient
    account: UserInfo


type SipgateConfigEntry = ConfigEntry[SipgateRuntimeData]
