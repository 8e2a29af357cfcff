"""Every slash command the manifest declares reaches a listener of the running app; others get 404."""

from __future__ import annotations

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
