"""Which Slack app and workspace this bot serves, and the one check that a request is for them.

Slack signs requests with the app's signing secret, which belongs to the app, not to a workspace: if
the app is installed in a second workspace (distributed, or in another workspace of an Enterprise
Grid org), that workspace's commands and presses arrive validly signed, and Reset is allowed to
everyone by default. So every request, over HTTP after its signature and over Socket Mode as it
arrives, must name this app (`api_app_id`) and this workspace (`team_id`) — or, for an org-wide
install, this org (`enterprise_id`; its people's `team_id` may be any workspace of the org).

"This" comes from SLACK_TEAM_ID / SLACK_APP_ID when set, else from Slack: `auth.test` (the
workspace, or the org of an org-wide install, and the bot's id) and `bots.info` (the bot's app id;
it needs the `users:read` scope, which SLACK_APP_ID makes unnecessary). Every lookup is bounded. When
Slack did not answer at start, requests are refused until a later lookup (on a request, at most
every RETRY_EVERY seconds) succeeds: without Slack the bot could not answer them anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

START_TIMEOUT = 5.0  # seconds for the lookup at start
REQUEST_TIMEOUT = 1.0  # for a lookup made while a request waits (Slack wants an answer within 3 s)
RETRY_EVERY = 30.0
log = logging.getLogger(__name__)
PROBES = ("ssl_check", "url_verification")  # Slack's own checks of the endpoint: no workspace, nothing runs


@dataclass(frozen=True)
class Installation:
    app_id: str
    team_id: str  # T… for a workspace; E… for an org-wide install on Enterprise Grid

    def refusal(self, app_id: object, team_id: object, enterprise_id: object) -> str | None:
        """Why a request naming these ids is not for this installation, or None."""
        if app_id != self.app_id:
            return f"it is for app {shown(app_id)}, not this app ({self.app_id})"
        org_wide = self.team_id.startswith("E")
        theirs = enterprise_id if org_wide else team_id
        if theirs != self.team_id:
            return f"it comes from {'org' if org_wide else 'workspace'} {shown(theirs)}, not {self.team_id}"
        return None


@dataclass(frozen=True)
class LookupFailed:
    reason: str
    lasting: bool  # Slack answered with an error (a missing scope, a bad token): asking again will not help

    def __str__(self) -> str:
        return self.reason


class InstallationCheck:
    """The installation once known, and the check every request passes before anything handles it."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        team_id: str | None = None,
        app_id: str | None = None,
        retry_every: float = RETRY_EVERY,
    ) -> None:
        self.client, self.team_id, self.app_id, self.retry_every = client, team_id, app_id, retry_every
        self.known = Installation(app_id, team_id) if app_id and team_id else None
        self.failure: LookupFailed | None = None
        self._asked_at = -float("inf")
        self._lock = asyncio.Lock()

    async def learn(self, timeout: float = START_TIMEOUT) -> LookupFailed | None:
        """Ask Slack for what is not configured; None once the installation is known."""
        async with self._lock:
            if self.known is not None:
                return None
            self._asked_at = time.monotonic()
            try:
                async with asyncio.timeout(timeout):
                    self.known = await self._ask()
            except SlackApiError as e:
                method, status = str(e.response.api_url).rsplit("/", 1)[-1], e.response.status_code
                error = e.response.get("error") if isinstance(e.response.data, dict) else None
                needed = f", needs {e.response.get('needed')}" if error == "missing_scope" else ""
                lasting = status < 500 and status != 429
                self.failure = LookupFailed(f"{method} answered {status} {error or ''}{needed}".strip(), lasting)
            except TimeoutError:
                self.failure = LookupFailed(f"no answer from Slack within {timeout:g} s", False)
            except (aiohttp.ClientError, OSError) as e:
                self.failure = LookupFailed(f"could not reach Slack ({type(e).__name__}: {e})", False)
            except (KeyError, TypeError, ValueError) as e:
                self.failure = LookupFailed(f"Slack's answer lacked an id ({type(e).__name__}: {e})", True)
            if self.known is None:
                return self.failure
            log.info("serving app %s in %s", self.known.app_id, self.known.team_id)
            return None

    async def _ask(self) -> Installation:
        me = await self.client.auth_test()
        org_wide = bool(me.get("is_enterprise_install"))
        team_id = self.team_id or str(me["enterprise_id"] if org_wide else me["team_id"])
        app_id = self.app_id
        if app_id is None:
            bot = await self.client.bots_info(bot=me["bot_id"], team_id=me["enterprise_id"] if org_wide else None)
            app_id = str(bot["bot"]["app_id"])
        return Installation(app_id, team_id)

    async def refusal(self, body: dict[str, Any], team_id: str | None, enterprise_id: str | None) -> str | None:
        """Why this request is not for this installation, or None. `team_id` and `enterprise_id` are
        the ones Bolt found in the body (it looks in `team`, `authorizations`, `team_id`, `user`, …)."""
        if body.get("ssl_check") == "1" or body.get("type") in PROBES:
            return None
        due = time.monotonic() - self._asked_at >= self.retry_every
        if self.known is None and due and not self._lock.locked():  # one lookup at a time; others don't wait
            await self.learn(REQUEST_TIMEOUT)
        if self.known is None:
            return f"this bot does not know its own workspace yet ({self.failure}); set SLACK_TEAM_ID and SLACK_APP_ID"
        return self.known.refusal(body.get("api_app_id"), team_id, enterprise_id)


def shown(value: object) -> str:
    """An id from a request, for a log line: quoted and cut, whatever it holds."""
    return repr(value)[:40] if value is not None else "(none)"
