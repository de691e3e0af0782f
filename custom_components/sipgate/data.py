"""Runtime data of a sipgate config entry."""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .api import SipgateClient, UserInfo


@dataclass(kw_only=True)
class SipgateRuntimeData:
    """What a loaded sipgate entry keeps while Home Assistant runs.

    The call counts and the last error start anew with each setup; they are
    shown in the diagnostics. ``problems_shown`` says whether a failure
    notification or repair issue may be shown, which the next successful call
    removes; it starts true because they outlive a reload.
    """

    client: SipgateClient
    account: UserInfo
    calls_succeeded: int = 0
    calls_failed: int = 0
    last_error: str | None = None
    problems_shown: bool = True


type SipgateConfigEntry = ConfigEntry[SipgateRuntimeData]
