"""Config and options flows of the sipgate integration."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import Any, Final

from homeassistant.components import webhook
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME, CONF_TOKEN, CONF_WEBHOOK_ID
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
    SmsExtension,
    UserInfo,
)
from .const import (
    CONF_BASE_URL,
    CONF_CALLER_ID,
    CONF_CLOUDHOOK_URL,
    CONF_DEVICE_ID,
    CONF_NUMBER,
    CONF_PUSH_PUBLIC_KEY,
    CONF_SMS_ID,
    CONF_TOKEN_ID,
    DEFAULT_SMS_ID,
    DOMAIN,
    LOGGER,
    SUBENTRY_CONTACT,
)
from .contacts import contacts, international
from .data import SipgateConfigEntry
from .push import load_public_key
from .push_receiver import async_push_url
from .schema import vol
from .validation import (
    is_ambiguous_number,
    normalize_base_url,
    normalize_credential,
    normalize_extension,
    normalize_number,
    normalize_sms_id,
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
# A contact's name names its device and entities.
MAX_NAME_LENGTH: Final = 100
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


def device_schema(devices: list[Device], *, required: bool = True) -> vol.Schema:
    """Return the form for the default device and caller ID.

    For a contact (``required`` false) both may stay empty: the account's
    defaults apply then.

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
    device_key = vol.Required if required else vol.Optional
    return vol.Schema(
        {
            device_key(CONF_DEVICE_ID): device_selector,
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
    user_input: Mapping[str, Any], *, required: bool = True
) -> tuple[dict[str, str], dict[str, str]]:
    """Return the normalised device settings and the form errors.

    A device left empty is no error if the form did not require it.
    """
    options: dict[str, str] = {}
    errors: dict[str, str] = {}
    device_input = user_input.get(CONF_DEVICE_ID, "")
    if (device_id := normalize_extension(device_input)) is not None:
        options[CONF_DEVICE_ID] = device_id
    elif required or device_input.strip():
        errors[CONF_DEVICE_ID] = "invalid_device"
    if caller_id_input := user_input.get(CONF_CALLER_ID, "").strip():
        if (caller_id := normalize_number(caller_id_input)) is None:
            errors[CONF_CALLER_ID] = "invalid_caller_id"
        else:
            options[CONF_CALLER_ID] = caller_id
    return options, errors


def sms_schema(extensions: list[SmsExtension]) -> vol.Schema:
    """Return the form for the default SMS extension.

    With the account's SMS extensions known (the ``sms:read`` scope) it is a
    dropdown showing each one's name and sender number, else a text field.
    """
    selector: SelectSelector | TextSelector = TextSelector()
    if extensions:
        selector = SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(
                        value=extension.id,
                        label=f"{extension.alias} ({extension.id}, "
                        f"{extension.caller_id or '—'})",
                    )
                    for extension in extensions
                ],
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
    return vol.Schema({vol.Required(CONF_SMS_ID): selector})


def contact_schema(devices: list[Device]) -> vol.Schema:
    """Return the form of a contact: name, number, phone and caller ID."""
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_NUMBER): TextSelector(
                TextSelectorConfig(type=TextSelectorType.TEL)
            ),
        }
    ).extend(device_schema(devices, required=False).schema)


def validate_contact_input(
    user_input: Mapping[str, Any], others: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Return a contact's normalised data and the form errors.

    The number is checked as the ``callee`` of a call is; ``others`` are the
    numbers of the account's other contacts, which it must not be, written
    nationally or internationally.
    """
    data, errors = validate_device_input(user_input, required=False)
    if not 0 < len(user_input[CONF_NAME].strip()) <= MAX_NAME_LENGTH:
        errors[CONF_NAME] = "invalid_name"
    number_input = user_input[CONF_NUMBER]
    if (number := normalize_number(number_input)) is None:
        errors[CONF_NUMBER] = (
            "ambiguous_number"
            if is_ambiguous_number(number_input)
            else "invalid_number"
        )
    elif international(number) in map(international, others):
        errors[CONF_NUMBER] = "number_in_use"
    else:
        data[CONF_NUMBER] = number
    return data, errors


async def async_list[T](
    entry: SipgateConfigEntry,
    request: Callable[[SipgateClient, UserInfo], Awaitable[list[T]]],
) -> list[T]:
    """Return what sipgate lists for a loaded entry, or nothing.

    A list the token may not read, or that sipgate does not send, is empty:
    the forms show text fields instead.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return []
    runtime = entry.runtime_data
    try:
        return await request(runtime.client, runtime.account)
    except SipgateError as err:
        LOGGER.debug("sipgate did not send the list: %s", err)
        return []


def _devices(client: SipgateClient, account: UserInfo) -> Awaitable[list[Device]]:
    """Ask sipgate for the account's devices."""
    return client.async_get_devices(account.sub)


def _sms_extensions(
    client: SipgateClient, account: UserInfo
) -> Awaitable[list[SmsExtension]]:
    """Ask sipgate for the account's SMS extensions."""
    return client.async_get_sms_extensions(account.sub)


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

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls,
        config_entry: ConfigEntry,  # noqa: ARG003 - every entry has contacts
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the flows of the entry's parts: contacts."""
        return {SUBENTRY_CONTACT: ContactSubentryFlow}

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
                return self._async_update_and_reload(
                    entry,
                    "reconfigure_successful",
                    data_updates=self._data,
                    options=with_phone(entry.options, options),
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

    def _async_update_and_reload(
        self, entry: SipgateConfigEntry, reason: str, **changes: Any
    ) -> ConfigFlowResult:
        """Store the changes and finish; the entry is set up with them.

        A loaded entry reloads itself when its token or address changed (its
        update listener); one that is not loaded, such as after sipgate
        refused the old token, is set up again here.
        """
        result = self.async_update_and_abort(entry, reason=reason, **changes)
        if entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result

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
                return self._async_update_and_reload(
                    entry, "reauth_successful", data_updates=data
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
        """Offer what there is to change.

        When sipgate refused the balance (no balance:read scope), the menu
        explains how to show it.
        """
        entry: SipgateConfigEntry = self.config_entry
        menu = ["phone", "sms", "calls"]
        if (
            entry.state is ConfigEntryState.LOADED
            and entry.runtime_data.balance.refused
        ):
            menu.append("balance")
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_sms(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the default SMS extension (a dropdown when sipgate lists them)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (sms_id := normalize_sms_id(user_input[CONF_SMS_ID])) is not None:
                return self.async_create_entry(
                    data={**self.config_entry.options, CONF_SMS_ID: sms_id}
                )
            errors[CONF_SMS_ID] = "invalid_sms_id"
        return self.async_show_form(
            step_id="sms",
            data_schema=self.add_suggested_values_to_schema(
                sms_schema(await async_list(self.config_entry, _sms_extensions)),
                user_input
                or {
                    CONF_SMS_ID: self.config_entry.options.get(
                        CONF_SMS_ID, DEFAULT_SMS_ID
                    )
                },
            ),
            errors=errors,
        )

    async def async_step_balance(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say which scope the balance needs."""
        return self.async_abort(reason="balance_scope")

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
                device_schema(await async_list(self.config_entry, _devices)),
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


class ContactSubentryFlow(ConfigSubentryFlow):
    """Add or change a contact: a person to call and to text."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for a new contact."""
        return await self._async_contact(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a contact."""
        return await self._async_contact(user_input)

    async def _async_contact(
        self, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show the contact's form; store it when it is valid."""
        entry: SipgateConfigEntry = self._get_entry()
        current = (
            self._get_reconfigure_subentry()
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            others = [
                contact.data[CONF_NUMBER]
                for contact in contacts(entry)
                if current is None or contact.subentry_id != current.subentry_id
            ]
            data, errors = validate_contact_input(user_input, others)
            if not errors:
                name = user_input[CONF_NAME].strip()
                if current is None:
                    return self.async_create_entry(
                        title=name, data=data, unique_id=data[CONF_NUMBER]
                    )
                return self.async_update_and_abort(
                    entry, current, title=name, data=data, unique_id=data[CONF_NUMBER]
                )
        elif current is not None:
            user_input = {CONF_NAME: current.title, **current.data}
        return self.async_show_form(
            step_id="user" if current is None else "reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                contact_schema(await async_list(entry, _devices)), user_input
            ),
            errors=errors,
            description_placeholders={"account": entry.title},
        )
