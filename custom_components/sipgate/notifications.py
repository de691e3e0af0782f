"""What the user is told when a call fails: notifications and repair issues."""

from collections.abc import Mapping

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN

NOTIFICATION_ID_PREFIX = f"{DOMAIN}_call_failed"
ISSUE_CALL_FORBIDDEN = "call_forbidden"
# Values users typed are shown with at most this many characters.
DISPLAY_LENGTH = 40


def shorten(value: object) -> str:
    """Return a value for display: at most DISPLAY_LENGTH characters of it."""
    text = "" if value is None else str(value)
    if len(text) <= DISPLAY_LENGTH:
        return text
    return f"{text[: DISPLAY_LENGTH - 1]}…"


def notification_id(entry_id: str | None) -> str:
    """Return the id of the failure notification of a config entry.

    Each entry has one notification that the latest failure replaces. A failure
    that cannot be tied to an entry uses the id without a suffix.
    """
    return (
        f"{NOTIFICATION_ID_PREFIX}_{entry_id}" if entry_id else NOTIFICATION_ID_PREFIX
    )


def forbidden_issue_id(entry_id: str) -> str:
    """Return the id of the repair issue about calls sipgate forbids."""
    return f"{ISSUE_CALL_FORBIDDEN}_{entry_id}"


async def async_notify_failed(
    hass: HomeAssistant,
    entry_id: str | None,
    title_key: str,
    title_placeholders: Mapping[str, object],
    error: HomeAssistantError,
) -> None:
    """Show (or replace) the notification that a request failed and why.

    The title is the translated exception message ``title_key``, such as
    "Call to … failed", with the placeholders shortened for display.
    """
    domain = error.translation_domain or DOMAIN
    translations = await async_get_translations(
        hass, hass.config.language, "exceptions", {DOMAIN, domain}
    )
    title = _render(
        translations,
        DOMAIN,
        title_key,
        {name: shorten(value) for name, value in title_placeholders.items()},
    )
    message = _render(
        translations, domain, error.translation_key, error.translation_placeholders
    )
    persistent_notification.async_create(
        hass, message or str(error), title, notification_id(entry_id)
    )


@callback
def async_create_forbidden_issue(
    hass: HomeAssistant, entry_id: str, account: str
) -> None:
    """Raise the repair issue that explains a 403 answer to a call."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        forbidden_issue_id(entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_CALL_FORBIDDEN,
        translation_placeholders={"account": account},
    )


@callback
def async_clear_call_problems(
    hass: HomeAssistant, entry_id: str, *, issue: bool = True
) -> None:
    """Remove the failure notifications and (``issue``) the repair issue.

    The notifications are the entry's own and the one of failures that could
    not be tied to an entry; the repair issue is the entry's about calls
    sipgate forbids.
    """
    persistent_notification.async_dismiss(hass, notification_id(entry_id))
    persistent_notification.async_dismiss(hass, notification_id(None))
    if issue:
        ir.async_delete_issue(hass, DOMAIN, forbidden_issue_id(entry_id))


def _render(
    translations: Mapping[str, str],
    domain: str,
    key: str | None,
    placeholders: Mapping[str, str] | None,
) -> str | None:
    """Return an exception message in the user's language, if it exists."""
    template = translations.get(f"component.{domain}.exceptions.{key}.message")
    if template is None:
        return None
    return template.format_map(dict(placeholders or {}))
