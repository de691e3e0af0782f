"""Config and options flows of the sipgate integration."""

from collections.abc import Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import Any, Final

from homeassistant.components import webhook
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .api import (
    DEFAULT_BASE_URL,
    Device,
    SipgateAuthenticationError,
    SipgateBadRequestError,
    SipgateClient,
    SipgateConnectionError,
    SipgateError,
    SipgateForbiddenError,
    SipgateIoSettings,
    SipgateRateLimitError,
    SipgateServerError,
    UserInfo,
)
from .const import (
    CONF_BASE_URL,
    CONF_CALLER_ID,
    CONF_CLOUDHOOK_URL,
    CONF_DEVICE_ID,
    CONF_PUSH_PUBLIC_KEY,
    CONF_TOKEN_ID,
    DOMAIN,
    LOGGER,
)
from .data import SipgateConfigEntry
from .push import load_public_key
from .push_receiver import async_push_url
from .schema import vol
from .validation import (
    normalize_base_url,
    normalize_credential,
    normalize_extension,
    normalize_number,
)

SECTION_ADVANCED: Final = "advanced_options"
CREDENTIALS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_TOKEN_ID): TextSelector(),
        vol.Required(CONF_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)
ADVANCED_SECTION: Final = section(
    vol.Schema(
        {
            vol.Required(CONF_BASE_URL, default=DEFAULT_BASE_URL): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
        }
    ),
    {"collapsed": True},
)
USER_SCHEMA: Final = CREDENTIALS_SCHEMA.extend(
    {vol.Required(SECTION_ADVANCED): ADVANCED_SECTION}
)
# Reconfigure: empty credentials keep the stored ones.
RECONFIGURE_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_TOKEN_ID): TextSelector(),
        vol.Optional(CONF_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Required(SECTION_ADVANCED): ADVANCED_SECTION,
    }
)
CONF_SET_IN_SIPGATE: Final = "set_in_sipgate"
CALLS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(SECTION_ADVANCED): section(
            vol.Schema(
                {
                    vol.Optional(CONF_PUSH_PUBLIC_KEY): TextSelector(
                        TextSelectorConfig(multiline=True)
                    )
                }
            ),
            {"collapsed": True},
        )
    }
)
DEVICE_TYPE_LABELS: Final = {
    "REGISTER": "VoIP",
    "MOBILE": "mobile",
    "EXTERNAL": "external",
}


class InvalidInputError(Exception):
    """Input refused before sipgate is asked; its message is the form error."""


def error_key(err: SipgateError) -> str:
    """Return the form error for sipgate's answer to a token check."""
    if isinstance(
        err, SipgateAuthenticationError | SipgateBadRequestError | SipgateForbiddenError
    ) or (err.status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE):
        # 400 and 431 come back for tokens too long to be one.
        return "invalid_auth"
    if isinstance(
        err, SipgateConnectionError | SipgateServerError | SipgateRateLimitError
    ):
        return "cannot_connect"
    # Another 4xx (404: a wrong path) or an answer that is not the API's.
    return "api_not_found"


async def async_check_token(
    hass: HomeAssistant,
    credentials: Mapping[str, Any],
    base_url: str,
    *,
    with_devices: bool,
) -> tuple[dict[str, str], UserInfo, list[Device]]:
    """Check a token with sipgate; raise the client's error if it fails.

    Returns the entry data, the account and its devices (empty when not asked
    for or when the token may not list devices). Raises InvalidInputError for
    input refused without asking sipgate.
    """
    token_id = normalize_credential(credentials[CONF_TOKEN_ID])
    token = normalize_credential(credentials[CONF_TOKEN])
    if token_id is None or token is None:
        raise InvalidInputError("invalid_credentials")
    if (url := normalize_base_url(base_url)) is None:
        raise InvalidInputError("invalid_base_url")
    client = SipgateClient(async_get_clientsession(hass), token_id, token, base_url=url)
    account = await client.async_get_userinfo()
    devices: list[Device] = []
    if with_devices:
        try:
            devices = await client.async_get_devices(account.sub)
        except SipgateForbiddenError:
            LOGGER.debug("The token may not list devices (devices:read)")
    data = {CONF_TOKEN_ID: token_id, CONF_TOKEN: token, CONF_BASE_URL: url}
    return data, account, devices


def device_schema(devices: list[Device]) -> vol.Schema:
    """Return the form for the default device and caller ID.

    With the account's devices known it offers a dropdown of the devices and
    the phonelines they are active on (``p0``, which sipgate can ring too);
    without them (the token lacks the ``devices:read`` scope) a text field.
    """
    device_selector: SelectSelector | TextSelector = TextSelector()
    if devices:
        options = [
            SelectOptionDict(
                value=device.id,
                label=f"{device.alias} ({device.id}, "
                f"{DEVICE_TYPE_LABELS.get(device.type, device.type)})",
            )
            for device in devices
        ]
        phonelines = {line.id: line for device in devices for line in device.phonelines}
        options += [
            SelectOptionDict(
                value=line.id, label=f"{line.alias} ({line.id}, phoneline)"
            )
            for line in phonelines.values()
        ]
        device_selector = SelectSelector(
            SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
        )
    return vol.Schema(
        {
            vol.Required(CONF_DEVICE_ID): device_selector,
            vol.Optional(CONF_CALLER_ID): TextSelector(
                TextSelectorConfig(type=TextSelectorType.TEL)
            ),
        }
    )


def with_phone(options: Mapping[str, Any], phone: Mapping[str, str]) -> dict[str, Any]:
    """Return the options with the default phone and caller ID replaced."""
    kept = {
        k: v for k, v in options.items() if k not in (CONF_DEVICE_ID, CONF_CALLER_ID)
    }
    return {**kept, **phone}


def validate_device_input(
    user_input: Mapping[str, Any],
) -> tuple[dict[str, str], dict[str, str]]:
    """Return the normalised device settings and the form errors."""
    options: dict[str, str] = {}
    errors: dict[str, str] = {}
    if (device_id := normalize_extension(user_input[CONF_DEVICE_ID])) is None:
        errors[CONF_DEVICE_ID] = "invalid_device"
    else:
        options[CONF_DEVICE_ID] = device_id
    if caller_id_input := user_input.get(CONF_CALLER_ID, "").strip():
        if (caller_id := normalize_number(caller_id_input)) is None:
            errors[CONF_CALLER_ID] = "invalid_caller_id"
        else:
            options[CONF_CALLER_ID] = caller_id
    return options, errors


class SipgateConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up sipgate with a personal access token."""

    VERSION = 1
    # 1.2: every entry has a webhook for sipgate.io's pushes.
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with nothing known about the account."""
        self._data: dict[str, str] = {}
        self._account_id = ""
        self._devices: list[Device] = []

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: SipgateConfigEntry) -> OptionsFlow:
        """Return the flow that changes the default device and caller ID."""
        return SipgateOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the token and check it with sipgate."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                self._data, account, self._devices = await async_check_token(
                    self.hass,
                    user_input,
                    user_input[SECTION_ADVANCED][CONF_BASE_URL],
                    with_devices=True,
                )
            except InvalidInputError as err:
                errors["base"] = str(err)
            except SipgateError as err:
                errors["base"] = error_key(err)
            except Exception:  # noqa: BLE001
                LOGGER.exception("Unexpected error while checking the sipgate token")
                errors["base"] = "unknown"
            else:
                self._account_id = account.unique_id
                await self.async_set_unique_id(account.unique_id)
                self._abort_if_unique_id_configured()
                return await self.async_step_device()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the token or the API address of the same sipgate user."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials = {
                key: user_input.get(key, "").strip() or entry.data[key]
                for key in (CONF_TOKEN_ID, CONF_TOKEN)
            }
            try:
                self._data, account, self._devices = await async_check_token(
                    self.hass,
                    credentials,
                    user_input[SECTION_ADVANCED][CONF_BASE_URL],
                    with_devices=True,
                )
            except InvalidInputError as err:
                errors["base"] = str(err)
            except SipgateError as err:
                errors["base"] = error_key(err)
            except Exception:  # noqa: BLE001
                LOGGER.exception("Unexpected error while checking the sipgate token")
                errors["base"] = "unknown"
            else:
                self._account_id = account.unique_id
                await self.async_set_unique_id(account.unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return await self.async_step_device()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA,
                user_input
                or {SECTION_ADVANCED: {CONF_BASE_URL: entry.data[CONF_BASE_URL]}},
            ),
            errors=errors,
            description_placeholders={"account": entry.title},
        )

    async def async_step_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which phone sipgate rings first and which number it shows."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = validate_device_input(user_input)
            if not errors and self.source == SOURCE_RECONFIGURE:
                entry = self._get_reconfigure_entry()
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates=self._data,
                    options=with_phone(entry.options, options),
                    reason="reconfigure_successful",
                )
            if not errors:
                return self.async_create_entry(
                    title=f"sipgate {self._account_id}",
                    data={**self._data, CONF_WEBHOOK_ID: webhook.async_generate_id()},
                    options=options,
                )
        elif self.source == SOURCE_RECONFIGURE:
            user_input = dict(self._get_reconfigure_entry().options)
        return self.async_show_form(
            step_id="device",
            data_schema=self.add_suggested_values_to_schema(
                device_schema(self._devices), user_input
            ),
            errors=errors,
            description_placeholders={"account": self._account_id},
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauthentication when sipgate no longer accepts the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token of the same sipgate user."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                data, account, _ = await async_check_token(
                    self.hass,
                    user_input,
                    entry.data[CONF_BASE_URL],
                    with_devices=False,
                )
            except InvalidInputError as err:
                errors["base"] = str(err)
            except SipgateError as err:
                errors["base"] = error_key(err)
            except Exception:  # noqa: BLE001
                LOGGER.exception("Unexpected error while checking the sipgate token")
                errors["base"] = "unknown"
            else:
                await self.async_set_unique_id(account.unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self.async_update_reload_and_abort(
                    entry, data_updates=data, reason="reauth_successful"
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=CREDENTIALS_SCHEMA,
            errors=errors,
            description_placeholders={"account": entry.title},
        )


class SipgateOptionsFlow(OptionsFlow):
    """Change the default phone, or set up incoming and outgoing calls."""

    def __init__(self) -> None:
        """Start without sipgate's sipgate.io settings."""
        self._settings: SipgateIoSettings | None = None

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the two things to change."""
        return self.async_show_menu(step_id="init", menu_options=["phone", "calls"])

    async def async_step_phone(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the default device (a dropdown when sipgate lists devices)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = validate_device_input(user_input)
            if not errors:
                return self.async_create_entry(
                    data=with_phone(self.config_entry.options, options)
                )
        return self.async_show_form(
            step_id="phone",
            data_schema=self.add_suggested_values_to_schema(
                device_schema(await self._async_devices()),
                user_input or self.config_entry.options,
            ),
            errors=errors,
        )

    async def async_step_calls(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Explain sipgate.io, show the webhook URL, offer to set it in sipgate.

        The URL is a secret; this step is the only place it is shown.
        """
        entry: SipgateConfigEntry = self.config_entry
        try:
            url = await self._async_push_url()
        except HomeAssistantError:  # Cloud subscribed, but not connected
            return self.async_abort(reason="cloud_not_connected")
        if url is None:
            return self.async_abort(reason="no_public_url")
        if user_input is None:
            self._settings = await self._async_sipgateio_settings()
        settings = self._settings
        errors: dict[str, str] = {}
        if user_input is not None:
            pem = user_input[SECTION_ADVANCED].get(CONF_PUSH_PUBLIC_KEY, "").strip()
            set_in_sipgate = settings if user_input.get(CONF_SET_IN_SIPGATE) else None
            if (error := await self._async_apply(pem, url, set_in_sipgate)) is None:
                options = {
                    k: v for k, v in entry.options.items() if k != CONF_PUSH_PUBLIC_KEY
                }
                if pem:
                    options[CONF_PUSH_PUBLIC_KEY] = pem
                return self.async_create_entry(data=options)
            errors["base"] = error
        elif not url.startswith("https://"):
            # A warning only: test servers such as the sandbox take http.
            errors["base"] = "not_https"
        suggested = user_input or {
            SECTION_ADVANCED: {
                CONF_PUSH_PUBLIC_KEY: entry.options.get(CONF_PUSH_PUBLIC_KEY, "")
            }
        }
        if settings is None:
            # The token may not read sipgate's settings: set them by hand.
            return self.async_show_form(
                step_id="calls_manual",
                data_schema=self.add_suggested_values_to_schema(
                    CALLS_SCHEMA, suggested
                ),
                errors=errors,
                description_placeholders={"url": url},
            )
        return self.async_show_form(
            step_id="calls",
            data_schema=self.add_suggested_values_to_schema(
                CALLS_SCHEMA.extend(
                    {
                        vol.Optional(
                            CONF_SET_IN_SIPGATE, default=False
                        ): BooleanSelector()
                    }
                ),
                suggested,
            ),
            errors=errors,
            description_placeholders={
                "url": url,
                "incoming_url": settings.incoming_url or "—",
                "outgoing_url": settings.outgoing_url or "—",
            },
        )

    async def _async_apply(
        self, pem: str, url: str, settings: SipgateIoSettings | None
    ) -> str | None:
        """Check the key and set the URL in sipgate; return a form error."""
        if pem:
            try:
                load_public_key(pem)
            except ValueError:
                return "invalid_public_key"
        if settings is None:
            return None
        entry: SipgateConfigEntry = self.config_entry
        try:
            await entry.runtime_data.client.async_set_sipgateio_settings(
                replace(settings, incoming_url=url, outgoing_url=url)
            )
        except SipgateForbiddenError:
            return "sipgateio_forbidden"
        except SipgateError as err:
            LOGGER.debug("sipgate did not store the sipgate.io settings: %s", err)
            return "cannot_connect"
        return None

    async def async_step_calls_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take the answer to the calls form without sipgate's settings."""
        return await self.async_step_calls(user_input)

    async def _async_push_url(self) -> str | None:
        """Return the webhook's URL, making a cloud webhook with Cloud.

        Raises a HomeAssistantError (CloudNotAvailable) when Home Assistant
        Cloud is subscribed but not connected.
        """
        entry: SipgateConfigEntry = self.config_entry
        hass = self.hass
        if entry.data.get(CONF_CLOUDHOOK_URL) or "cloud" not in hass.config.components:
            return async_push_url(hass, entry)
        from homeassistant.components import cloud  # noqa: PLC0415 - set up then

        if cloud.async_active_subscription(hass):
            url = await cloud.async_get_or_create_cloudhook(
                hass, entry.data[CONF_WEBHOOK_ID]
            )
            hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_CLOUDHOOK_URL: url}
            )
        return async_push_url(hass, entry)

    async def _async_sipgateio_settings(self) -> SipgateIoSettings | None:
        """Return the sipgate.io settings, or None if they cannot be read."""
        entry: SipgateConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return None
        try:
            return await entry.runtime_data.client.async_get_sipgateio_settings()
        except SipgateError as err:
            LOGGER.debug("sipgate did not show the sipgate.io settings: %s", err)
            return None

    async def _async_devices(self) -> list[Device]:
        """Return the account's devices, or none if sipgate does not list them."""
        entry: SipgateConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return []
        runtime = entry.runtime_data
        try:
            return await runtime.client.async_get_devices(runtime.account.sub)
        except SipgateError as err:
            LOGGER.debug("sipgate did not list the devices: %s", err)
            return []
