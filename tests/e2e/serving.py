"""`tenantbot serve` as a process, driven as Slack drives it: its environment, the bodies Slack posts
(a slash command, a button press), signed requests to it, and waiting until it answers.

Shared by the end-to-end test of `serve`, the crash tests and the reliability suite, which all talk to
a real `serve` from outside; the in-process harness (tests/e2e/conftest.py) builds its bodies here too.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from tests.e2e.slack_stub import SlackStub

SECRET = "serve-secret"


def signed_headers(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with `body`, signed with `secret` at `timestamp` (default: now)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


async def signed_post(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    sent = {**signed_headers(body, secret=secret, timestamp=timestamp), **(headers or {})}
    async with session.post(url, data=body.encode(), headers=sent) as response:
        return response.status


def command_body(text: str, response_url: str, *, user: str = "U1", team: str = "T1", app: str = "A1") -> str:
    """The form Slack posts for `/tenant <text>`."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": "C1",
            "channel_name": "ops",
            "user_id": user,
            "user_name": "oncall",
            "command": "/tenant",
            "text": text,
            "api_app_id": app,
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def press_body(
    action: dict[str, Any],
    response_url: str,
    *,
    user: str = "U1",
    team: str = "T1",
    app: str = "A1",
    ephemeral: bool = True,
    fields: dict[str, Any] | None = None,
) -> str:
    """The form Slack posts when `action` (action_id, block_id, value, action_ts, …) is pressed on a card
    in channel C1; `fields` replace top-level ones."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "oncall", "team_id": team},
        "api_app_id": app,
        "token": "legacy",
        "team": {"id": team, "domain": "acme"},
        "channel": {"id": "C1", "name": "ops"},
        "container": {"type": "message", "message_ts": "100.0001", "channel_id": "C1", "is_ephemeral": ephemeral},
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "actions": [{"type": "button", **action}],
        **(fields or {}),
    }
    return "payload=" + quote(json.dumps(payload))


async def wait_until_healthy(session: aiohttp.ClientSession, port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert process.poll() is None, "serve exited early"
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail("serve did not come up")


def serve_env(data_dir: Path, slack: SlackStub, port: int, **extra: str) -> dict[str, str]:
    """`serve` on its own DATA_DIR, with the Slack stand-in, alerts on, and timings of seconds."""
    return {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_DEV_PORT")},
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-serve",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "ALERT_CHANNEL": "C0ALERTS",
        "SCAN_INTERVAL": "1s",
        "STUCK_AFTER": "3s",
        "ACTIVITY_HEARTBEAT_TIMEOUT": "1s",
        "STEP_TIME": "0.2s",
        **extra,
    }


def submission_body(
    view: dict[str, Any],
    *,
    reason: str | None,
    user: str = "U1",
    team: str = "T1",
    app: str = "A1",
    trigger: str = "2.3.4",
    typed: dict[str, tuple[str, str]] | None = None,
) -> str:
    """The form Slack posts when `view` (as views.open answered it) is submitted with `reason` typed in its
    reason field (None: left empty, which Slack sends as null) and `typed` in others ({block: (input, text)})."""
    value = {"type": "plain_text_input", "value": reason}
    others = {
        block: {action: {"type": "plain_text_input", "value": text}} for block, (action, text) in (typed or {}).items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": "oncall", "name": "oncall", "team_id": team},
        "api_app_id": app,
        "token": "legacy",
        "trigger_id": trigger,
        "view": {**view, "state": {"values": {"reason": {"reason_input": value}, **others}}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return "payload=" + quote(json.dumps(payload))
