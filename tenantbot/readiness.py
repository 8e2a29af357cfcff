"""What `/readyz` checks in `serve`: the database (`SELECT 1`), the engine (a system-info call) and Slack
(`auth.test` with the bot token), each within READ_TIMEOUT (at most 2 s), the report kept 5 s.

Built here, in the composition root, because only it holds all three: bot/probes.py runs the checks
without knowing what they are. Slack's answer counts as down when it refuses the token (`invalid_auth`,
a revoked app): the bot could then neither answer nor alert. Every reason is redacted before it is
shown or logged (core/redaction.py): a database or engine error may quote its URL.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.probes import CHECK_TIMEOUT, Readiness
from core.redaction import redact
from tenantbot.bootstrap import Runtime


def serve_readiness(rt: Runtime, client: AsyncWebClient) -> Readiness:
    assert rt.engine_ping is not None  # every runtime knows how to ask its engine

    async def slack() -> None:
        await client.auth_test()

    checks = {"database": rt.database.ping, "engine": rt.engine_ping, "slack": slack}
    timeout = min(rt.settings.read_timeout.total_seconds(), CHECK_TIMEOUT)
    return Readiness(
        checks, timeout=timeout, describe=lambda error: redact(str(error).splitlines()[0] if str(error) else "")
    )
