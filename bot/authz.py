"""The authorization policy's `Directory` (core/authz.py), read from Slack's user groups and cached
for a few minutes.

It holds the app's Web API client, the one whose Retry-After pauses the notifier and every listener
share (bot/slack_client.py), so a 429 on `usergroups.users.list` holds back every later lookup in the
process and a held-back lookup fails at once. A lookup that fails (an API error, a network error, no
answer within a few seconds) is not cached and not taken as "not a member": it raises
`DirectoryUnavailable`, so the press is refused with "try again" and the next press asks Slack again.
Only drawing buttons may skip a lookup that failed moments ago (the card then shows what a group could
grant), so one answer never waits twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from core.authz import Directory, DirectoryUnavailable

CACHE_SECONDS = 300.0
LOOKUP_SECONDS = 3.0  # well inside the time a user waits for an answer; the client's own default is 30 s
FAILED_SECONDS = 30.0  # how long drawing buttons skips a group whose lookup failed


class GroupDirectory(Directory):
    def __init__(self, client: AsyncWebClient, ttl: float = CACHE_SECONDS, timeout: float = LOOKUP_SECONDS) -> None:
        self.client, self.ttl, self.timeout = client, ttl, timeout
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._failed: dict[str, tuple[float, str]] = {}

    async def groups_of(self, user: str, groups: Iterable[str], *, for_display: bool = False) -> frozenset[str]:
        return frozenset([g for g in sorted(groups) if user in await self._members_of(g, for_display)])

    async def _members_of(self, group: str, for_display: bool) -> frozenset[str]:
        now = time.monotonic()
        cached, failed = self._members.get(group), self._failed.get(group)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        if for_display and failed is not None and now - failed[0] < FAILED_SECONDS:
            raise DirectoryUnavailable(failed[1])
        try:
            response = await asyncio.wait_for(self.client.usergroups_users_list(usergroup=group), self.timeout)
        except TimeoutError:
            raise self._failure(group, f"no answer within {self.timeout:g} s") from None
        except (SlackClientError, aiohttp.ClientError, OSError) as e:
            raise self._failure(group, str(e)) from e
        self._failed.pop(group, None)
        members = frozenset(response.get("users") or [])
        self._members[group] = (time.monotonic(), members)
        return members

    def _failure(self, group: str, why: str) -> DirectoryUnavailable:
        message = f"user group {group}: {why}"
        self._failed[group] = (time.monotonic(), message)
        return DirectoryUnavailable(message)
