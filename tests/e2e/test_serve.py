"""`tenantbot serve` as a process, wired by the real composition root: a hung run is alerted in the
channel, Reset is pressed on the alert over signed HTTP, and the next scan resolves the alert."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from tests.e2e.serving import serve_env, signed_post, wait_until_healthy
from tests.e2e.slack_stub import SlackStub, free_port

pytestmark = pytest.mark.temporal


async def test_serve_alerts_a_hung_run_and_resolves_it_after_reset_from_the_alert(tmp_path: Path) -> None:
    slack = SlackStub()
    await slack.start()
    port = free_port()
    env = serve_env(tmp_path, slack, port, TEMPORAL_DEV_PORT=str(free_port()))
    serve = subprocess.Popen(
        [sys.executable, "-m", "tenantbot", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_healthy(session, port, serve)
            provision = subprocess.run(
                [sys.executable, "-m", "tenantbot", "provision", "acme-9", "--fault", "hang@2"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert provision.returncode == 0, provision.stderr
            [alert] = await slack.wait_for_alerts(timeout=30)  # the provision's Retry is announced too
            assert alert["channel"] == "C0ALERTS" and "acme-9 is wedged: no progress" in alert["text"]

            reset = next(
                e
                for b in alert["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == "alert_reset"
            )
            block_id = next(b["block_id"] for b in alert["blocks"] if b["type"] == "actions")
            payload = {
                "type": "block_actions",
                "user": {"id": "U42"},
                "team": {"id": "T1"},
                "api_app_id": "A1",
                "container": {"type": "message", "message_ts": alert.get("ts", "1.1"), "channel_id": "C0ALERTS"},
                "channel": {"id": "C0ALERTS"},
                "response_url": slack.response_url("alert"),
                "trigger_id": "1",
                "actions": [{**reset, "block_id": block_id, "action_ts": "1700000000.1"}],
            }
            assert (
                await signed_post(
                    session, f"http://127.0.0.1:{port}/slack/events", "payload=" + quote(json.dumps(payload))
                )
                == 200
            )
            [answer] = await slack.wait_for("/response/alert", timeout=10)
            assert "done — reset" in str(answer["blocks"])
            [update] = await slack.wait_for("/api/chat.update", timeout=15)
            assert "resolved" in str(update["blocks"]) and "reset_completed by U42" in str(update["blocks"])
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
        await slack.stop()
    leftover = subprocess.run(
        ["pgrep", "-f", f"start-dev.*--port {env['TEMPORAL_DEV_PORT']} "], capture_output=True, check=False
    )
    assert leftover.returncode == 1 and leftover.stdout == b""  # 1: no process matched
    lines = (serve.stderr.read().decode() if serve.stderr else "").splitlines()
    # the only stack traces are the worker's reports of the injected fault, as Temporal logs activity failures
    unexpected = [
        i
        for i, line in enumerate(lines)
        if line.startswith("Traceback") and "Completing activity as failed" not in lines[i - 1]
    ]
    assert unexpected == [], "\n".join(lines)
