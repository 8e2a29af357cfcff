"""The Slack app manifests are valid against Slack's own schema (listeners: tests/e2e/test_manifest_commands.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.http import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = Path("slack-manifest-schema") / "schemas" / "manifest.schema.1.0.0.json"
# Slack's published schema (slackapi/manifest-schema, MIT) is provided beside the checkout, not vendored.
CANDIDATES = [
    Path(os.environ.get("SLACK_MANIFEST_SCHEMA", "/nonexistent")),
    ROOT.parent / "shared" / SCHEMA_PATH,
    Path("/work/shared") / SCHEMA_PATH,
]
SCHEMA = next((p for p in CANDIDATES if p.is_file()), CANDIDATES[1])
MANIFESTS = ["manifest.yml", "manifest.socket.yml"]


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / name).read_text()))


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_manifest_is_valid_for_slack(name: str) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMA}")
    jsonschema.validate(load(name), json.loads(SCHEMA.read_text()))


def test_the_socket_mode_manifest_differs_only_in_the_transport() -> None:
    http, socket = load("manifest.yml"), load("manifest.socket.yml")
    assert socket["settings"]["socket_mode_enabled"] is True and http["settings"]["socket_mode_enabled"] is False
    assert "request_url" not in socket["settings"]["interactivity"]
    assert http["oauth_config"] == socket["oauth_config"]
    assert http["features"]["app_home"] == socket["features"]["app_home"]
    http_events, socket_events = http["settings"]["event_subscriptions"], socket["settings"]["event_subscriptions"]
    assert "request_url" not in socket_events and http_events["bot_events"] == socket_events["bot_events"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_home_tab_is_on_and_its_event_subscribed(name: str) -> None:
    manifest = load(name)
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # a Home button's card goes to the DM
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_events_go_to_the_same_endpoint_as_commands_and_presses() -> None:
    http = load("manifest.yml")
    endpoint = http["settings"]["interactivity"]["request_url"]
    assert endpoint.endswith(EVENTS_PATH)
    assert http["settings"]["event_subscriptions"]["request_url"] == endpoint
