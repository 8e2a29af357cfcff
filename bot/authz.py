"""Group membership for the authorization policy, read from Slack and cached for a few minutes.

Only the groups the policy names for the pressed action are looked up, so the default policy
("anyone may") costs no API call at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

CACHE_SECONDS = 300.0


class GroupDirectory:
    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    async def groups_of(self, client: AsyncWebClient, user: str, groups: Iterable[str]) -> frozenset[str]:
        """Which of `groups` the user belongs to; a group that cannot be read counts as not containing them."""
        return frozenset([g for g in groups if user in await self._members_of(client, g)])

    async def _members_of(self, client: AsyncWebClient, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or [])
        except SlackApiError:
            members = frozenset()
        self._members[group] = (time.monotonic(), members)
        return members
