"""Secrets never reach an operator's terminal or the logs, on the error paths that quote what they were
given: a DATABASE_URL with a password that is unreachable or malformed, a bot token Slack refuses, a
Temporal address that speaks no TLS (with an API key) or that names credentials. Real `tenantbot`
processes, logging everything (LOG_LEVEL=debug), in both LOG_FORMATs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.slack_stub import SlackStub, free_port

PASSWORD = "Hunter2-db-Secret"
TOKEN = "xoxb-1111-2222-BotTokenSecret"
SIGNING = "SigningSecretValue42"
API_KEY = "tk-VerySecretApiKey"
ENGINE_PASSWORD = "EnginePassw0rd"
SECRETS = (PASSWORD, TOKEN.split("-")[-1], SIGNING, API_KEY, ENGINE_PASSWORD)


async def tenantbot(*args: str, data_dir: Path, **env: str) -> tuple[int, str]:
    """Run `tenantbot` (the event loop keeps serving the stand-ins meanwhile); exit code and all it printed."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEMPORAL_", "SLACK_"))},
        "DATA_DIR": str(data_dir),
        "TEMPORAL_DEV_PORT": str(free_port()),
        "LOG_LEVEL": "debug",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tenantbot",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, output.decode()


def assert_no_secret(output: str) -> None:
    assert "Traceback" not in output, output
    for secret in SECRETS:
        assert secret not in output, (secret, output)


@pytest.fixture(params=["text", "json"])
def log_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_an_unreachable_database_url_with_a_password_is_reported_without_it(
    tmp_path: Path, log_format: str
) -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:{free_port()}/tenants"
    code, output = await tenantbot("tenant", "acme-1", data_dir=tmp_path, DATABASE_URL=url, LOG_FORMAT=log_format)
    assert code == 1 and "database unavailable" in output
    assert_no_secret(output)


async def test_a_malformed_database_url_with_a_password_is_named_without_it(tmp_path: Path) -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:notaport/tenants"
    code, output = await tenantbot("tenant", "acme-1", data_dir=tmp_path, DATABASE_URL=url)
    assert code == 2 and "DATABASE_URL" in output and "postgresql://app:***@" in output
    assert_no_secret(output)


async def test_a_bot_token_slack_refuses_stops_serve_without_quoting_the_token(tmp_path: Path, log_format: str) -> None:
    slack = SlackStub()
    slack.refusals["auth.test"] = {"error": "invalid_auth"}
    await slack.start()
    try:
        code, output = await tenantbot(
            "serve",
            data_dir=tmp_path,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SIGNING,
            SLACK_API_URL=slack.api_url,
            LOG_FORMAT=log_format,
        )
    finally:
        await slack.stop()
    assert code == 2 and "invalid_auth" in output
    assert_no_secret(output)


@pytest.fixture
async def not_tls() -> AsyncIterator[int]:
    """A port that answers a TLS handshake with plain text, as a server without TLS would."""

    async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_a_temporal_tls_failure_is_reported_without_the_api_key(tmp_path: Path, not_tls: int) -> None:
    code, output = await tenantbot(
        "provision",
        "acme-1",
        data_dir=tmp_path,
        TEMPORAL_ADDRESS=f"127.0.0.1:{not_tls}",
        TEMPORAL_TLS="true",
        TEMPORAL_API_KEY=API_KEY,
        LOG_FORMAT="json",
    )
    assert code == 1 and "workflow engine unavailable" in output
    assert_no_secret(output)


async def test_credentials_in_the_temporal_address_are_masked(tmp_path: Path) -> None:
    address = f"ops:{ENGINE_PASSWORD}@127.0.0.1:{free_port()}"
    code, output = await tenantbot("provision", "acme-1", data_dir=tmp_path, TEMPORAL_ADDRESS=address)
    assert code == 1 and "Temporal" in output
    assert_no_secret(output)
