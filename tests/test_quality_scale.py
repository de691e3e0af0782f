"""Keep quality_scale.yaml honest: every rule decided, every "done" checked.

Rules that code can check are checked here, either directly or by naming the
tests elsewhere in the suite that prove them (those tests must exist).
"""

import ast
from collections.abc import Iterator
import importlib
import json
from pathlib import Path
import re
import struct
from typing import Any

import pytest
import yaml

from custom_components.sipgate import diagnostics, errors, services
from custom_components.sipgate.api import SipgateClient
from custom_components.sipgate.const import CONF_TOKEN_ID, DOMAIN
from custom_components.sipgate.notifications import ISSUE_CALL_FORBIDDEN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

ROOT = Path(__file__).parents[1]
INTEGRATION = ROOT / "custom_components" / "sipgate"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
SCALE = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text("utf-8"))

# The rules of each tier, as Home Assistant's quality scale defines them.
TIERS = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}
ALL_RULES = [rule for rules in TIERS.values() for rule in rules]

# Rules proved by behaviour tests elsewhere in the suite.
EVIDENCE = {
    "appropriate-polling": [
        "test_balance::test_read_every_30_minutes",
        "test_calls::test_call_in_talk_stays_while_sipgate_lists_calls",
        "test_calls::test_lost_hangup_of_a_call_in_talk_expires",
    ],
    "common-modules": ["test_entities::test_device_and_entities"],
    "devices": [
        "test_entities::test_device_and_entities",
        "test_contacts::test_add_a_contact",
    ],
    "entity-device-class": ["test_entities::test_states_without_calls"],
    "entity-event-setup": [
        "test_calls::test_incoming_call_answered_and_ended",
        "test_entities::test_unload_removes_nothing_but_the_states",
    ],
    "entity-translations": [
        "test_entities::test_device_and_entities",
        "test_entities::test_german_names",
    ],
    "entity-unique-id": ["test_entities::test_device_and_entities"],
    "has-entity-name": ["test_entities::test_device_and_entities"],
    "action-exceptions": [
        "test_services::test_invalid_input",
        "test_services::test_api_errors",
    ],
    "config-entry-unloading": ["test_init::test_setup_and_unload"],
    "diagnostics": ["test_diagnostics::test_diagnostics"],
    "reauthentication-flow": [
        "test_config_flow::test_reauth",
        "test_config_flow::test_reauth_other_account",
        "test_init::test_setup_auth_failed_starts_reauth",
        "test_services::test_auth_error_starts_reauth",
    ],
    "reconfiguration-flow": [
        "test_config_flow::test_reconfigure_keeps_token_changes_device",
        "test_config_flow::test_reconfigure_new_token_and_address",
        "test_config_flow::test_reconfigure_other_account",
    ],
    "repair-issues": [
        "test_services::test_forbidden_raises_repair_issue",
        "test_services::test_removing_entry_clears_repair_issue",
    ],
    "runtime-data": ["test_init::test_setup_and_unload"],
    "test-before-configure": ["test_config_flow::test_user_errors_recover"],
    "test-before-setup": [
        "test_init::test_setup_auth_failed_starts_reauth",
        "test_init::test_setup_not_ready",
        "test_init::test_setup_error",
    ],
    "unique-config-entry": ["test_config_flow::test_already_configured"],
    "entity-unavailable": [
        "test_balance::test_unavailable_while_sipgate_cannot_be_reached"
    ],
    "log-when-unavailable": [
        "test_balance::test_unavailable_while_sipgate_cannot_be_reached"
    ],
    "stale-devices": ["test_contacts::test_remove_a_contact"],
}

# Rules checked by a test in this module (filled by the @checks decorator).
CHECKED: set[str] = set()
# Documentation rules: README.md is read for them, not parsed.
DOCUMENTATION = {
    "docs-actions",
    "docs-configuration-parameters",
    "docs-data-update",
    "docs-examples",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-known-limitations",
    "docs-removal-instructions",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
}


def checks(*rules: str) -> Any:
    """Mark a test as the check of these rules."""
    CHECKED.update(rules)
    return lambda test: test


def done_rules() -> list[str]:
    """Return the rules quality_scale.yaml marks as done."""
    return [rule for rule, status in SCALE["rules"].items() if status == "done"]


def test_every_rule_is_decided() -> None:
    """Every rule is listed once: done, or exempt with a reason; no todo."""
    assert list(SCALE["rules"]) == sorted(SCALE["rules"], key=ALL_RULES.index)
    assert set(SCALE["rules"]) == set(ALL_RULES)
    for rule, status in SCALE["rules"].items():
        if status != "done":
            assert status["status"] == "exempt", rule
            assert len(status["comment"]) > 20, rule


def test_every_done_rule_is_checked() -> None:
    """Each rule marked done has a check here, named evidence, or is docs."""
    assert set(done_rules()) <= CHECKED | set(EVIDENCE) | DOCUMENTATION
    assert set(EVIDENCE) <= set(done_rules())


@pytest.mark.parametrize("rule", sorted(EVIDENCE))
def test_evidence_exists(rule: str) -> None:
    """The tests named as evidence exist."""
    for reference in EVIDENCE[rule]:
        module, test = reference.split("::")
        assert callable(getattr(importlib.import_module(f"tests.{module}"), test))


@checks("action-setup")
async def test_action_registered_without_entries(hass: HomeAssistant) -> None:
    """The action exists as soon as the integration is set up, entry or not."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "initiate_call")


def png_size(path: Path) -> tuple[int, int]:
    """Return the width and height of a PNG file."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@checks("brands")
def test_brand_icons() -> None:
    """The integration ships its own icon in both resolutions."""
    assert png_size(INTEGRATION / "brand" / "icon.png") == (256, 256)
    assert png_size(INTEGRATION / "brand" / "icon@2x.png") == (512, 512)


def steps() -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every config and options flow step (and section) with fields."""
    for flow in ("config", "options"):
        for name, step in STRINGS[flow]["step"].items():
            yield f"{flow}.{name}", step
            for section, content in step.get("sections", {}).items():
                yield f"{flow}.{name}.{section}", content


@checks("config-flow", "docs-installation-parameters")
def test_every_field_has_a_description() -> None:
    """The flow is on, and every form field has a data_description."""
    assert MANIFEST["config_flow"] is True
    for name, step in steps():
        assert set(step.get("data", {})) == set(step.get("data_description", {})), name


@checks("config-flow-test-coverage", "test-coverage")
def test_coverage_targets() -> None:
    """scripts/test fails below 100 % for the flow and 95 % for any module."""
    check = importlib.import_module("scripts.lib.check_coverage")
    assert check.TARGETS == {"config_flow.py": 100.0}
    assert check.DEFAULT_TARGET >= 95.0
    assert "scripts/lib/check_coverage.py" in (ROOT / "scripts" / "test").read_text()


def module_trees() -> Iterator[tuple[str, ast.Module]]:
    """Yield the parsed modules of the integration."""
    for path in sorted(INTEGRATION.glob("*.py")):
        yield path.name, ast.parse(path.read_text(encoding="utf-8"))


def constants(node: ast.AST) -> set[str]:
    """Return the string constants inside an expression."""
    return {
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    }


@checks("exception-translations")
def test_every_raised_translation_key_exists() -> None:
    """Every exception translation key and flow error or abort has a text."""
    exception_keys: set[str] = set(errors.ERROR_TRANSLATION_KEYS.values()) | set(
        services.SMS_ERROR_KEYS.values()
    )
    flow_errors: set[str] = set()
    aborts: set[str] = set()
    for _, tree in module_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in {
                "translation_key",
                "keys",
            }:
                exception_keys |= constants(node.value)
            if isinstance(node, ast.keyword) and node.arg == "reason":
                aborts |= constants(node.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == (
                "_normalized"
            ):
                exception_keys |= constants(node.args[3])
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Subscript)
                and getattr(node.targets[0].value, "id", "") == "errors"
            ):
                flow_errors |= constants(node.value)
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in {
                "key",
                "translation_key",
            }:
                exception_keys |= constants(node.value)
    assert {
        "insufficient_funds",
        "invalid_callee",
        "ambiguous_number",
        "rate_limited_retry_after",
        "hangup_forbidden",
        "sms_forbidden",
        "send_at_out_of_range",
    } <= exception_keys
    assert exception_keys <= set(STRINGS["exceptions"])
    assert flow_errors <= set(STRINGS["config"]["error"]) | set(
        STRINGS["options"]["error"]
    ) | set(STRINGS["config_subentries"]["contact"]["error"])
    assert {"number_in_use", "invalid_name"} <= flow_errors
    assert {"invalid_device", "invalid_caller_id"} <= set(STRINGS["options"]["error"])
    assert aborts <= set(STRINGS["config"]["abort"]) | set(STRINGS["options"]["abort"])
    assert ISSUE_CALL_FORBIDDEN in STRINGS["issues"]


@checks("icon-translations")
def test_icons() -> None:
    """Every action and entity has an icon in icons.json."""
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    assert set(icons["services"]) == set(STRINGS["services"])
    for service in icons["services"].values():
        assert service["service"].startswith("mdi:")
    for platform, entities in STRINGS["entity"].items():
        assert set(icons["entity"][platform]) == set(entities), platform
        for key, texts in entities.items():
            icon = icons["entity"][platform][key]
            assert icon["default"].startswith("mdi:")
            if "state" in texts:
                assert set(icon["state"]) == set(texts["state"]), key


@checks("parallel-updates")
def test_parallel_updates() -> None:
    """Every entity platform says how many updates may run at once."""
    for platform in ("button", "event", "notify", "sensor"):
        module = importlib.import_module(f"custom_components.sipgate.{platform}")
        assert isinstance(module.PARALLEL_UPDATES, int), platform


@checks("diagnostics")
def test_diagnostics_redact_credentials() -> None:
    """Both halves of the token are redacted."""
    assert {"token", CONF_TOKEN_ID} <= diagnostics.TO_REDACT


@checks("integration-owner")
def test_codeowners() -> None:
    """The manifest names who owns the integration."""
    assert MANIFEST["codeowners"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])


@checks("async-dependency", "inject-websession")
def test_client_is_async_and_takes_the_session() -> None:
    """The client is asyncio-based, gets HA's session and never makes one."""
    api = ast.parse((INTEGRATION / "api.py").read_text(encoding="utf-8"))
    calls = {
        ast.unparse(node.func) for node in ast.walk(api) if isinstance(node, ast.Call)
    }
    assert "aiohttp.ClientSession" not in calls
    assert not any(
        isinstance(node, ast.Import | ast.ImportFrom)
        and "homeassistant" in ast.unparse(node)
        for node in ast.walk(api)
    )
    init = ast.parse((INTEGRATION / "__init__.py").read_text(encoding="utf-8"))
    (construction,) = [
        node
        for node in ast.walk(init)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "SipgateClient"
    ]
    assert ast.unparse(construction.args[0]) == "async_get_clientsession(hass)"
    public = [name for name in vars(SipgateClient) if name.startswith("async_")]
    assert public
    for name in public:
        code = getattr(SipgateClient, name).__code__
        assert code.co_flags & 0x80, name  # CO_COROUTINE


@checks("strict-typing")
def test_strict_typing() -> None:
    """scripts/test runs mypy --strict on the integration, which ships py.typed."""
    assert 'mypy" --strict custom_components/sipgate' in (
        ROOT / "scripts" / "test"
    ).read_text(encoding="utf-8")
    assert (INTEGRATION / "py.typed").exists()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    mypy_section = r"^\[tool\.mypy\]\n(?:.*\n)*?strict = true$"
    assert re.search(mypy_section, pyproject, re.MULTILINE)
