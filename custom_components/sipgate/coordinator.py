"""The account's balance, read from sipgate every 30 minutes."""

from collections.abc import Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import (
    REQUEST_REFRESH_DEFAULT_COOLDOWN,
    DataUpdateCoordinator,
    UpdateFailed,
)

from .api import (
    Balance,
    SipgateAuthenticationError,
    SipgateClient,
    SipgateError,
    SipgateForbiddenError,
)
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from .data import SipgateConfigEntry

# Calls and SMS read it again as soon as they are done.
BALANCE_INTERVAL: Final = timedelta(minutes=30)


class SipgateBalanceCoordinator(DataUpdateCoordinator[Balance | None]):
    """Reads the account's balance; ``None`` when the token may not.

    Reading the balance needs the ``balance:read`` scope; without it sipgate
    answers 403 and there is no balance to show.
    """

    config_entry: SipgateConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: SipgateConfigEntry, client: SipgateClient
    ) -> None:
        """Read the balance with the entry's client every BALANCE_INTERVAL."""
        # The coordinator's own debouncer, kept to ask it without a task.
        self._refresh_debouncer: Debouncer[Coroutine[Any, Any, None]] = Debouncer(
            hass, LOGGER, cooldown=REQUEST_REFRESH_DEFAULT_COOLDOWN, immediate=True
        )
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name="sipgate balance",
            update_interval=BALANCE_INTERVAL,
            request_refresh_debouncer=self._refresh_debouncer,
        )
        self._client = client

    async def _async_update_data(self) -> Balance | None:
        """Ask sipgate for the balance."""
        try:
            return await self._client.async_get_balance()
        except SipgateForbiddenError:
            LOGGER.debug("The token may not read the balance (balance:read)")
            return None
        except SipgateAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except SipgateError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="balance_failed",
                translation_placeholders={"error": str(err)},
            ) from err

    @property
    def refused(self) -> bool:
        """Return whether sipgate refused the balance (no balance:read).

        A balance sipgate could not be asked for is not refused.
        """
        return self.last_update_success and self.data is None

    @callback
    def async_spent(self) -> None:
        """Read the balance again soon: a call or an SMS may have changed it.

        Calls and SMS in quick succession read it once (the debouncer's
        cooldown); nothing is read when the token may not. Within a cooldown
        this costs no task: the debouncer only notes the read for its end.
        """
        if self.data is not None:
            self._refresh_debouncer.async_schedule_call()
