"""Who may run which action: allow-lists of users and user groups, checked on every press.

The default (from SPEC) is that anyone in the workspace may Reset, Retry and Cancel, and nobody may
Decommission until an admin list is configured. Group membership is resolved by the chat adapter;
this module only decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.domain import Action

EVERYONE = "*"
ENTRY = re.compile(r"^(\*|[UW][A-Z0-9]{2,}|S[A-Z0-9]{2,})$")


@dataclass(frozen=True)
class AllowList:
    everyone: bool = False
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @staticmethod
    def parse(text: str) -> AllowList:
        """`*`, user ids (U…/W…) and user-group ids (S…), separated by commas or spaces."""
        entries = [e for e in re.split(r"[,\s]+", text.strip()) if e]
        bad = [e for e in entries if not ENTRY.match(e)]
        if bad:
            raise ValueError(f"not a Slack user or user-group id: {', '.join(bad)} (expected *, U…, W… or S…)")
        return AllowList(
            everyone=EVERYONE in entries,
            users=frozenset(e for e in entries if e[0] in "UW"),
            groups=frozenset(e for e in entries if e[0] == "S"),
        )


@dataclass(frozen=True)
class Policy:
    allowed: dict[Action, AllowList] = field(default_factory=dict)

    def permits(self, user: str, groups: Iterable[str], action: Action) -> bool:
        rule = self.allowed.get(action, AllowList())
        return rule.everyone or user in rule.users or bool(rule.groups.intersection(groups))

    def groups_that_matter(self, action: Action) -> frozenset[str]:
        """The groups whose membership decides `action` (none to look up when everyone may)."""
        rule = self.allowed.get(action, AllowList())
        return frozenset() if rule.everyone else rule.groups

    def refusal(self, action: Action) -> str:
        if self.allowed.get(action, AllowList()) == AllowList():
            return f"Nobody may {action.value} from Slack until an admin list is configured ({action.name}_USERS)."
        return f"You are not on the list of people allowed to {action.value} ({action.name}_USERS)."
