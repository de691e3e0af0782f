"""Tests that the integration's texts are complete in every language."""

import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

INTEGRATION = Path(__file__).parents[1] / "custom_components" / "sipgate"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(name: str) -> dict[str, Any]:
    """Return a JSON file of the integration."""
    return json.loads((INTEGRATION / name).read_text(encoding="utf-8"))


def keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Return the dotted paths of all texts in a translation tree."""
    found: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{key}.")
        else:
            found.add(f"{prefix}{key}")
    return found


def test_english_translation_is_strings() -> None:
    """translations/en.json is the full text of strings.json."""
    assert load("translations/en.json") == load("strings.json")


def texts(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Return every text of a translation tree by its dotted path."""
    found: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            found |= texts(value, f"{prefix}{key}.")
        else:
            found[f"{prefix}{key}"] = value
    return found


@pytest.mark.parametrize("language", ["de"])
def test_languages_have_the_same_keys(language: str) -> None:
    """Every language translates every text, and no more."""
    assert keys(load(f"translations/{language}.json")) == keys(load("strings.json"))


@pytest.mark.parametrize("language", ["de"])
def test_languages_have_the_same_placeholders(language: str) -> None:
    """A translation uses the placeholders of the English text, no others."""
    english = texts(load("strings.json"))
    for path, text in texts(load(f"translations/{language}.json")).items():
        assert set(PLACEHOLDER.findall(text)) == set(
            PLACEHOLDER.findall(english[path])
        ), path


def test_every_action_field_is_described() -> None:
    """services.yaml and the translations name the same actions and fields."""
    strings = load("strings.json")["services"]
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text("utf-8"))
    assert set(services) == set(strings)
    for service, fields in services.items():
        assert set(fields["fields"]) == set(strings[service]["fields"]), service
