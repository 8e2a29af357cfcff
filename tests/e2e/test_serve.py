"""`tenantbot serve` as a process, wired by the real composition root: a hung run is alerted in the
channel, Reset is pressed on the alert over signed HTTP and its preview submitted with a reason (which
Temporal records as the terminate reason), the next scan resolves the alert, and the presser's App Home
shows the last scan and their Reset."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.e2e.serving import serve_env, signed_post, submission_body, wait_until_healthy
from tests.e2e.slack_stub import SlackStub, free_port
from tests.e2e.test_app_home import home_opened

pytestmark = pytest.mark.temporal
TERMINATED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED


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
            await slack.wait_for("/api/views.open", timeout=10)  # the preview; nothing ran yet
            reason = "hung at step 2 since 03:00"
            submission = submission_body(slack.opened[-1], reason=reason, user="U42")
            assert await signed_post(session, f"http://127.0.0.1:{port}/slack/events", submission) == 200
            [answer] = await slack.wait_for("/response/alert", timeout=10)
            assert "done — reset" in str(answer["blocks"])
            client = await Client.connect(f"127.0.0.1:{env['TEMPORAL_DEV_PORT']}")
            run = client.get_workflow_handle("provision-acme-9-1")
            terminated = [e async for e in run.fetch_history_events() if e.event_type == TERMINATED]
            said = terminated[0].workflow_execution_terminated_event_attributes.reason
            assert f"U42: {reason} (request " in said  # and the request id, to follow the press into Temporal
            [update] = await slack.wait_for("/api/chat.update", timeout=15)
            assert "resolved" in str(update["blocks"]) and "reset_completed by U42" in str(update["blocks"])

            # U42's Home, as the composition root wires it: the scan's last tick, and the Reset they pressed
            opened = home_opened("U42")
            headers = {"Content-Type": "application/json"}
            assert await signed_post(session, f"http://127.0.0.1:{port}/slack/events", opened, headers=headers) == 200
            [home] = await slack.wait_for("/api/views.publish", timeout=10)
            shown = str(home["view"])
            assert home["user_id"] == "U42" and "Last scan: <!date^" in shown and "`reset_started` on *acme-9*" in shown
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
