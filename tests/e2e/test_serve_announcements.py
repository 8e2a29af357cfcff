"""`tenantbot serve` as a process, wired by the real composition root, announces the actions the command
line runs (which writes the database only): `provision`'s first attempt (a Retry) and a Retry after the
alert resolved in ACTIONS_CHANNEL, a Reset of an alerted tenant in the alert's thread, each once."""

from __future__ import annotations

import asyncio
import getpass
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.serving import serve_env, wait_until_healthy
from tests.e2e.slack_stub import SlackStub, free_port

pytestmark = pytest.mark.temporal
ME = f"`cli:{getpass.getuser()}`"


def cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tenantbot", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def announced(slack: SlackStub) -> list[dict[str, Any]]:
    return [m for m in slack.sent("/api/chat.postMessage") if " ran *" in str(m.get("text"))]


async def test_serve_announces_actions_from_the_command_line_once(tmp_path: Path) -> None:
    slack = SlackStub()
    await slack.start()
    port = free_port()
    env = serve_env(tmp_path, slack, port, TEMPORAL_DEV_PORT=str(free_port()), ACTIONS_CHANNEL="C0ACTIONS")
    serve = subprocess.Popen(
        [sys.executable, "-m", "tenantbot", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_healthy(session, port, serve)
            cli(env, "provision", "acme-9", "--fault", "hang@2")
            [alert] = await slack.wait_for_alerts(timeout=30)
            assert alert["channel"] == "C0ALERTS"

            cli(env, "reset", "acme-9", "--yes")
            await slack.wait_for("/api/chat.update", timeout=15)  # the scan resolved the alert
            cli(env, "retry", "acme-9")
            await _until(lambda: len(announced(slack)) == 3, timeout=15)
            await asyncio.sleep(3)  # more scan ticks: nothing twice
        provision, reset, retry = announced(slack)
        assert provision["channel"] == "C0ACTIONS" and "ran *Retry* on `acme-9`" in provision["text"]  # attempt 1
        [resolved] = [m for m in slack.sent("/api/chat.postMessage") if "Resolved: " in str(m.get("text"))]
        assert (reset["channel"], reset["thread_ts"]) == ("C0ALERTS", resolved["thread_ts"])  # the alert's thread
        assert f"{ME} ran *Reset* on `acme-9`" in reset["text"]
        assert retry["channel"] == "C0ACTIONS" and "thread_ts" not in retry
        assert f"{ME} ran *Retry* on `acme-9`" in retry["text"]
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
        await slack.stop()


async def _until(condition: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    assert condition()
