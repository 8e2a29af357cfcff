"""Validly signed requests for another workspace, org or app get 401 and run nothing; the workspace and
app come from Slack (auth.test, bots.info) or the settings, and a slow Slack at start stops nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.installation import InstallationCheck
from core.decisions import Situation
from tests.e2e.conftest import SECRET, Bot
from tests.e2e.situations import make
from tests.e2e.slack_stub import SlackStub, free_port


def command(bot: Bot, response: str = "r1", **fields: str) -> str:
    """`/tenant acme-42` as Slack sends it, with some form fields changed."""
    return urlencode({**dict(parse_qsl(bot.command_body("acme-42", response=response))), **fields})


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    return [r.getMessage() for r in caplog.records if r.name == "bot.app" and "refused" in r.getMessage()]


async def learned(bot: Bot, *, app_id: str | None = None) -> InstallationCheck:
    """A check learned anew from the stand-in (as `serve` does at start), put in the running app."""
    check = InstallationCheck(bot.client, app_id=app_id)
    assert await check.learn() is None
    bot.app.installation = check
    return check


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"team_id": "T2"}, "workspace 'T2'"), ({"api_app_id": "A2"}, "app 'A2'"), ({"team_id": ""}, "workspace (none)")],
    ids=["another-workspace", "another-app", "no-workspace"],
)
async def test_a_signed_command_for_another_workspace_or_app_gets_401_and_changes_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture, fields: dict[str, str], named: str
) -> None:
    caplog.set_level(logging.INFO)
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    status, answer, _ = await bot.exchange(command(bot, **fields))
    assert (status, json.loads(answer)) == (401, {"error": "invalid request"})
    await asyncio.sleep(0.2)
    assert bot.slack.calls == [] and bot.engine.calls == []
    [line] = refusals(caplog)
    assert named in line and SECRET not in caplog.text


async def test_a_signed_press_from_another_workspace_or_for_another_app_runs_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await make(bot.store, bot.engine, "acme-42", Situation.WEDGED_ORPHANED)
    foreign = [
        bot.press_body("tenant_reset", "acme-42", "tenant_actions:acme-42").replace("%22T1%22", "%22T2%22"),
        bot.press_body("tenant_reset", "acme-42", "tenant_actions:acme-42").replace("%22A1%22", "%22A2%22"),
    ]
    assert [(await bot.post(body))[0] for body in foreign] == [401, 401]
    await asyncio.sleep(0.2)
    assert bot.slack.calls == [] and bot.engine.calls == []
    assert [e.type for e in await bot.store.events("acme-42", 5)] == []
    assert len(refusals(caplog)) == 2
    assert (await bot.post(bot.press_body("tenant_reset", "acme-42", "tenant_actions:acme-42")))[0] == 200


async def test_an_org_wide_install_serves_any_workspace_of_its_org_and_refuses_other_orgs(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.slack.enterprise_id = "E1"
    check = await learned(bot)
    assert (check.known.team_id, check.known.app_id) == ("E1", "A1")  # type: ignore[union-attr]
    status, _ = await bot.post(command(bot, team_id="T7", enterprise_id="E1", response="grid"))
    assert status == 200
    assert len(await bot.slack.wait_for("/response/grid")) == 1
    for fields in ({"team_id": "T7", "enterprise_id": "E2"}, {"team_id": "T1"}):
        assert (await bot.post(command(bot, **fields)))[0] == 401
    assert len(refusals(caplog)) == 2 and "org 'E2'" in refusals(caplog)[0]


async def test_settings_name_the_installation_without_asking_slack(bot: Bot) -> None:
    check = InstallationCheck(bot.client, team_id="T9", app_id="A9")
    assert check.known is not None and await check.learn() is None
    assert bot.slack.calls == []
    bot.app.installation = check
    assert (await bot.post(command(bot)))[0] == 401  # T1/A1 is not the configured T9/A9
    assert (await bot.post(command(bot, team_id="T9", api_app_id="A9")))[0] == 200


async def test_slack_app_id_alone_still_learns_the_workspace_but_needs_no_bots_info(bot: Bot) -> None:
    check = await learned(bot, app_id="A1")
    assert (check.known.team_id, check.known.app_id) == ("T1", "A1")  # type: ignore[union-attr]
    assert [c.path for c in bot.slack.calls] == ["/api/auth.test"]


async def test_bots_info_refused_for_a_missing_scope_is_a_lasting_failure_that_names_the_scope(bot: Bot) -> None:
    bot.slack.refusals["bots.info"] = {"error": "missing_scope", "needed": "users:read", "provided": "commands"}
    failure = await InstallationCheck(bot.client).learn()
    assert failure is not None and failure.lasting
    assert str(failure) == "bots.info answered 200 missing_scope, needs users:read"


async def test_when_slack_is_slow_at_start_requests_are_refused_until_it_answers(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.slack.delays["auth.test"] = 3
    check = InstallationCheck(bot.client, retry_every=0.5)
    failure = await asyncio.wait_for(check.learn(0.3), 1)
    assert failure is not None and not failure.lasting and "no answer from Slack within 0.3 s" in str(failure)
    bot.app.installation = check
    status, elapsed = await bot.post(command(bot))
    assert status == 401 and elapsed < 0.5  # asked again only every retry_every: no wait this time
    [line] = refusals(caplog)
    assert "does not know its own workspace yet" in line and "SLACK_TEAM_ID" in line
    await asyncio.sleep(0.5)
    status, elapsed = await bot.post(command(bot))  # asks Slack again, within REQUEST_TIMEOUT (1 s)
    assert status == 401 and 0.9 < elapsed < 2
    del bot.slack.delays["auth.test"]
    await asyncio.sleep(0.5)
    status, _ = await bot.post(command(bot))
    assert status == 200 and check.known is not None
    assert len(await bot.slack.wait_for("/response/r1")) == 1


async def test_serve_stops_with_one_line_when_slack_refuses_to_name_the_app(tmp_path: Path) -> None:
    slack = SlackStub()
    slack.refusals["bots.info"] = {"error": "missing_scope", "needed": "users:read"}
    await slack.start()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "PORT": str(free_port()),
        "SLACK_BOT_TOKEN": "xoxb-serve",
        "SLACK_SIGNING_SECRET": "serve-secret",
        "SLACK_API_URL": slack.api_url,
    }
    try:
        serve = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tenantbot",
            "serve",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(serve.communicate(), 60)
    finally:
        await slack.stop()
    assert serve.returncode == 2 and out == b""
    [line] = err.decode().strip().splitlines()
    assert "bots.info answered 200 missing_scope, needs users:read" in line and "SLACK_APP_ID" in line
    assert not (tmp_path / "tenantbot.db").exists()  # stopped before anything started
