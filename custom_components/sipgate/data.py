"""Runtime data of a sipgate config entry."""

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry

from .api import SipgateClient, UserInfo
from .calls import CallTracker
from .coordinator import SipgateBalanceCoordinator


@dataclass(kw_only=True)
class PushStats:
    """What the entry's webhook saw since setup (shown in the diagnostics).

    ``seen`` holds the (event, call id) of recent verified pushes, to drop
    replays; ``sipgate_key`` is sipgate's public signing key (PEM).
    """

    sipgate_key: str
    verified: int = 0
    refused: int = 0
    refused_in_a_row: int = 0
    replays: int = 0
    last_warning: float = float("-inf")
    seen: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass(kw_only=True)
class SipgateRuntimeData:
    """What a loaded sipgate entry keeps while Home Assistant runs.

    The counts of the requests of actions and buttons, and the last error,
    start anew with each setup; they are shown in the diagnostics.
    ``problems_shown`` says whether a failure notification or repair issue
    may be shown, which the next successful request removes; it starts true
    because they outlive a reload. ``set_up_from`` is what the setup read
    from the entry (token, address, contacts), to reload when it changes.
    """

    client: SipgateClient
    account: UserInfo
    calls: CallTracker
    push: PushStats
    balance: SipgateBalanceCoordinator
    set_up_from: dict[str, object]
    requests_succeeded: int = 0
    requests_failed: int = 0
    last_error: str | None = None
    problems_shown: bool = True


type SipgateConfigEntry = ConfigEntry[SipgateRuntimeData]
