"""Every slash command and bot event the manifest declares reaches a listener of the running app; others get 404."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import yaml

from tests.e2e.conftest import Bot

ROOT = Path(__file__).resolve().parents[2]


def as_command(bot: Bot, command: str) -> str:
    fields = dict(parse_qsl(bot.command_body("help")))
    return urlencode({**fields, "command": command})


async def test_every_declared_slash_command_has_a_listener(bot: Bot) -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    declared = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert declared
    for command in declared:
        status, _ = await bot.post(as_command(bot, command))
        assert status == 200, command
    status, _ = await bot.post(as_command(bot, "/not-ours"))
    assert status == 404


def as_event(kind: str, event_id: str) -> str:
    event = {"type": kind, "user": "U1", "channel": "D0HOME", "tab": "home", "event_ts": "1.000001"}
    body = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event": event}
    return json.dumps({**body, "event_time": 1})


async def test_every_declared_bot_event_has_a_listener(bot: Bot) -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    declared = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert declared
    for i, kind in enumerate(declared):
        status, _ = await bot.post(as_event(kind, f"Ev{i}"), headers={"Content-Type": "application/json"})
        assert status == 200, kind
    status, _ = await bot.post(as_event("reaction_added", "Ev99"), headers={"Content-Type": "application/json"})
    assert status == 404
