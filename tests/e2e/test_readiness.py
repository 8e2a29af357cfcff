"""`/healthz` and `/readyz` of a real `tenantbot serve`, over HTTP and in Socket Mode (the probes alone on
PORT, Slack reached over the stand-in's websocket), with its PostgreSQL behind a proxy that refuses or
goes silent and its Temporal dev server stopped under it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.adapters.temporal_server import dev_server, find_binary
from tests.conftest import SilentPostgres
from tests.e2e.serving import serve_env, wait_until_healthy
from tests.e2e.slack_stub import SlackStub, free_port

pytestmark = [pytest.mark.temporal, pytest.mark.postgres]
MODES = {
    "http": {},
    "socket": {"SLACK_APP_TOKEN": "xapp-1-A1-probe", "SLACK_SIGNING_SECRET": ""},
}


async def probe(session: aiohttp.ClientSession, port: int, path: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    async with session.get(f"http://127.0.0.1:{port}{path}") as response:
        body = await response.json() if path == "/readyz" else await response.text()
        return response.status, body, time.monotonic() - started


async def totals(session: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """Each counter of /metrics summed over its labels."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    summed: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            summed[sample.name] = summed.get(sample.name, 0.0) + sample.value
    return summed


async def until_ready(session: aiohttp.ClientSession, port: int, status: int, within: float = 20) -> dict[str, Any]:
    """Probe until /readyz answers `status` (the report is kept 5 s); its body. Every answer within 3 s."""
    deadline = time.monotonic() + within
    while True:
        code, body, elapsed = await probe(session, port, "/readyz")
        assert elapsed < 3, (elapsed, body)
        if code == status:
            return dict(body)
        assert time.monotonic() < deadline, f"/readyz still {code}: {body}"
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("mode", list(MODES))
async def test_readiness_names_the_database_or_the_engine_that_is_down_and_recovers_with_it(
    mode: str, silent_postgres: SilentPostgres, tmp_path: Path
) -> None:
    slack = SlackStub()
    await slack.start()
    engine = AsyncExitStack()
    address = await engine.enter_async_context(dev_server(find_binary(), port=free_port(), state_dir=tmp_path / "t"))
    port = free_port()
    env = serve_env(tmp_path, slack, port, DATABASE_URL=silent_postgres.url, TEMPORAL_ADDRESS=address, **MODES[mode])
    env = {k: v for k, v in env.items() if v != ""}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:  # a file, not a pipe nobody reads while serve runs
        serve = subprocess.Popen([sys.executable, "-m", "tenantbot", "serve"], env=env, stdout=output, stderr=output)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_healthy(session, port, serve)
            if mode == "socket":
                assert await slack.wait_for("/api/apps.connections.open", timeout=10)
                status, _, _ = await probe(session, port, "/slack/events")
                assert status == 404  # the probes alone: Slack's requests come over the websocket
            body = await until_ready(session, port, 200)
            assert body == {"status": "ready", "checks": {"database": "ok", "engine": "ok", "slack": "ok"}}

            # a probe storm is answered from one check: Slack's auth.test is called at most twice
            asked = len(slack.arrivals("/api/auth.test"))
            answers = await asyncio.gather(*(probe(session, port, "/readyz") for _ in range(100)))
            assert {a[0] for a in answers} == {200}
            assert len(slack.arrivals("/api/auth.test")) - asked <= 2

            await silent_postgres.proxy.refuse()  # PostgreSQL down: connections refused
            down = await until_ready(session, port, 503)
            assert down["status"] == "not ready" and down["checks"]["database"] != "ok"
            assert down["checks"]["engine"] == "ok" and down["checks"]["slack"] == "ok"
            assert (await probe(session, port, "/healthz"))[:2] == (200, "ok")  # alive all along
            await silent_postgres.proxy.resume()
            await until_ready(session, port, 200)

            await engine.aclose()  # the Temporal server stopped
            stopped = await until_ready(session, port, 503, within=30)
            assert stopped["checks"]["engine"] != "ok"
            assert stopped["checks"]["database"] == "ok" and stopped["checks"]["slack"] == "ok"
            assert (await probe(session, port, "/healthz"))[0] == 200

            silent_postgres.proxy.silent = True  # PostgreSQL hangs: answered at the check's timeout
            hung = await until_ready(session, port, 503, within=10)
            noticed_by = time.monotonic() + 15
            while hung["checks"]["database"] == "ok":  # the report kept from before it went silent
                assert time.monotonic() < noticed_by, f"the silent database was never reported: {hung}"
                await asyncio.sleep(0.5)
                hung = await until_ready(session, port, 503)
            assert hung["checks"]["database"].startswith("no answer within 2 s")
            assert (await probe(session, port, "/healthz"))[0] == 200

            # meanwhile the scan ticks (every second) failed, and the ports counted what failed them
            failed = await totals(session, port)
            assert failed["tenantbot_scan_ticks_failed_total"] >= 1
            assert failed["tenantbot_database_errors_total"] >= 1 and failed["tenantbot_engine_errors_total"] >= 1
        silent_postgres.proxy.silent = False
        serve.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(serve.wait, 40)  # the stand-in's websocket answers meanwhile
        assert code == 0, log.read_text()[-3000:]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        await engine.aclose()
        await slack.stop()
    assert "Traceback" not in log.read_text()
