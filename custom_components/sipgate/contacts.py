"""The account's contacts: config subentries, people to call and to text."""

from collections.abc import Mapping

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from .const import CONF_NUMBER, SUBENTRY_CONTACT

# sipgate pushes numbers as E.164; a contact's national number (0211 ...) is
# read as a German one, the country of sipgate's numbers.
_NATIONAL_PREFIX = "+49"


def contacts(entry: ConfigEntry) -> list[ConfigSubentry]:
    """Return the entry's contacts."""
    return [
        subentry
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_CONTACT
    ]


def international(number: str) -> str:
    """Return a normalised number as sipgate pushes it: E.164."""
    if number.startswith("0"):
        return f"{_NATIONAL_PREFIX}{number[1:]}"
    return number


def contact_names(entry: ConfigEntry) -> Mapping[str, str]:
    """Return the contacts' names by their E.164 number, to name callers."""
    return {
        international(contact.data[CONF_NUMBER]): contact.title
        for contact in contacts(entry)
    }
