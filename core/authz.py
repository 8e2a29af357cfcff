"""Who may press which button: the allow-lists, the directory that says who is in which user group,
and the `Authorizer` that decides every press and which buttons a viewer is offered.

The default (from SPEC) is that anyone in the workspace may Reset, Retry and Cancel, and nobody may
Decommission until an admin list is configured. Snooze needs Reset's permission (core/alerting/controls.py
asks for Reset). Group membership comes from a `Directory` the chat adapter implements (bot/authz.py
reads Slack's user groups); only the groups the policy names for an action are asked about, so the
default policy costs no lookup. A directory that cannot answer is never taken as "not a member": the
press is refused with "try again". Messages name the allow-list, not its setting (README maps each
allow-list to its variable). The admin allow-list decides who may freeze and unfreeze tenantbot from
Slack (core/freeze.py; default: nobody, the command line always can).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from core.domain import Action

log = logging.getLogger(__name__)
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

    def admits(self, user: str, groups: Iterable[str]) -> bool:
        """Whether the list names `user`, one of their `groups`, or everyone."""
        return self.everyone or user in self.users or bool(self.groups.intersection(groups))

    def groups_that_matter(self) -> frozenset[str]:
        """The groups whose membership decides (none to look up when everyone is on the list)."""
        return frozenset() if self.everyone else self.groups


@dataclass(frozen=True)
class Policy:
    allowed: dict[Action, AllowList] = field(default_factory=dict)
    admins: AllowList = AllowList()  # who may freeze and unfreeze tenantbot from Slack

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
        allow_list = f"the {action.value.capitalize()} allow-list"
        if self.allowed.get(action, AllowList()) == AllowList():
            return f"Nobody may {action.value} from Slack until an admin list is configured ({allow_list} is empty)."
        return f"You are not on the list of people allowed to {action.value} ({allow_list})."

    def admin_refusal(self) -> str:
        if self.admins == AllowList():
            return (
                "Nobody may freeze or unfreeze tenantbot from Slack until an admin list is configured (the admin "
                "allow-list is empty); `tenantbot freeze` and `tenantbot unfreeze` on the command line always can."
            )
        return "You are not on the admin allow-list, so you may not freeze or unfreeze tenantbot."


class DirectoryUnavailable(Exception):
    """The directory could not say who is in a user group (an error, or no answer in time)."""


class Directory(Protocol):
    """Who is in which user group: the chat adapter's port for the policy's group entries."""

    async def groups_of(self, user: str, groups: Iterable[str], *, for_display: bool = False) -> frozenset[str]:
        """Which of `groups` `user` belongs to. Raises DirectoryUnavailable when one cannot be read.

        `for_display`: the answer only draws buttons, so a group whose lookup failed moments ago may
        fail again at once instead of being asked again (one answer never waits twice)."""
        ...


class NoDirectory(Directory):
    """The directory of a process that takes no presses (the CLI, `scan`): it can read no user group."""

    async def groups_of(self, user: str, groups: Iterable[str], *, for_display: bool = False) -> frozenset[str]:
        if wanted := sorted(groups):
            raise DirectoryUnavailable(f"no user directory to read {', '.join(wanted)}")
        return frozenset()


@dataclass(frozen=True)
class Refusal:
    """Why a press may not run: `reason` for the presser and the audit feed; `unchecked` when the
    directory could not be read (a "try again", not a "no")."""

    reason: str
    unchecked: bool = False


class Authorizer:
    """The policy applied to a user, with their groups read from the directory when a rule names any."""

    def __init__(self, policy: Policy, directory: Directory) -> None:
        self.policy, self.directory = policy, directory

    async def refusal(self, action: Action, user: str) -> Refusal | None:
        """None when `user` may run `action`, else why not."""
        try:
            groups = await self.directory.groups_of(user, self.policy.groups_that_matter(action))
        except DirectoryUnavailable as e:
            log.warning("%s by %s: %s", action.value, user, e)
            return Refusal(LOOKUP_FAILED, unchecked=True)
        return None if self.policy.permits(user, groups, action) else Refusal(self.policy.refusal(action))

    async def admin_refusal(self, user: str) -> Refusal | None:
        """None when `user` is on the admin allow-list (may freeze and unfreeze), else why not."""
        admins = self.policy.admins
        try:
            groups = await self.directory.groups_of(user, admins.groups_that_matter())
        except DirectoryUnavailable as e:
            log.warning("freeze or unfreeze by %s: %s", user, e)
            return Refusal(LOOKUP_FAILED, unchecked=True)
        if admins.admits(user, groups):
            return None
        log.info("freeze or unfreeze by %s refused: not on the admin allow-list", user)
        return Refusal(self.policy.admin_refusal())

    async def offered(self, allowed: Iterable[Action], viewer: str | None) -> tuple[Action, ...]:
        """The buttons for a card seen by `viewer` only, or by everyone (`viewer` None): see Policy.offered."""
        allowed = tuple(allowed)
        if viewer is None:
            return self.policy.offered(allowed)
        try:
            groups: frozenset[str] | None = await self.directory.groups_of(
                viewer, self.policy.groups_deciding(allowed), for_display=True
            )
        except DirectoryUnavailable:
            groups = None
        return self.policy.offered(allowed, viewer, groups)
