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
LOOKUP_FAILED = "Couldn't check your user groups in Slack, so nothing was run; try again in a moment."
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

    def groups_deciding(self, actions: Iterable[Action]) -> frozenset[str]:
        """The groups whose membership decides any of `actions`."""
        return frozenset().union(*(self.groups_that_matter(a) for a in actions))

    def offered(
        self, allowed: Iterable[Action], viewer: str | None = None, groups: Iterable[str] | None = None
    ) -> tuple[Action, ...]:
        """Which of the actions the situation allows get a button.

        On a card only `viewer` sees: the actions they may run; when their groups could not be read
        (`groups` None), those a group could grant are kept and the press decides. On a card everyone
        sees (`viewer` None): the actions someone may run, so an empty allow-list hides its button.
        Every press is still authorized on its own.
        """
        rules = {a: self.allowed.get(a, AllowList()) for a in allowed}
        if viewer is None:
            return tuple(a for a, rule in rules.items() if rule != AllowList())
        if groups is None:
            return tuple(a for a, rule in rules.items() if rule.everyone or viewer in rule.users or rule.groups)
        return tuple(a for a in rules if self.permits(viewer, groups, a))

    def refusal(self, action: Action) -> str:
        if self.allowed.get(action, AllowList()) == AllowList():
            return f"Nobody may {action.value} from Slack until an admin list is configured ({action.name}_USERS)."
        return f"You are not on the list of people allowed to {action.value} ({action.name}_USERS)."
