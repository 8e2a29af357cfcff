"""Common causes first: wedged tenants grouped by what stopped them, largest group first.

A cluster reset orphans hundreds of tenants at the same step; a broken upstream API wedges dozens on
the same error, each message differing only in its ids. Read one by one they look like 500 problems;
grouped they are two. A tenant's *cause* is its situation, the step it stopped at and its error with
everything that differs from tenant to tenant (uuids, hex, ids, numbers, quoted values) normalised
away, so "upstream API returned 500 for 'acme-42' (request 7f3a9c01)" and the same for acme-43 group.

Pure functions, used by the digest (core/alerting), `/tenant stuck` and `tenantbot tenants --wedged`;
each renders the parts with its own markup (`Markup`), so data is escaped where it is shown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.decisions import Assessment, Situation

ERROR_CHARS = 120  # of a normalised error: enough to tell causes apart, short enough for a summary line
READ_CHARS = 400  # of an error read: its start tells the cause, and the patterns stay cheap (errors run to KBs)
TOP = 3  # groups named in a summary; the rest fold into "N other"

# what each wedged situation is called in a group's label ("470 orphaned at `create_storage`")
KINDS = {
    Situation.WEDGED_ORPHANED: "orphaned",
    Situation.WEDGED_ENGINE_CLOSED: "closed by the engine",
    Situation.WEDGED_ERROR: "wedged",
    Situation.WEDGED_NO_PROGRESS: "hung",
    Situation.WEDGED_WINDING_DOWN: "stopped winding down",
}

# in this order: a uuid holds hex, an id holds digits, a quoted value may hold all three
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`")
# a standalone hex token (a request id, a digest); one joined to a word ("vol-0a1b2c") is part of an id
_HEX = re.compile(r"(?<![\w.:/-])(?:0x[0-9a-f]+|(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,})(?![\w.:/-])", re.I)
_ID = re.compile(r"\b(?=[\w.:/-]*\d)(?=[\w.:/-]*[a-z])[a-z0-9]+(?:[-_.:/][a-z0-9]+)+\b|\b[a-z]+\d+[a-z0-9]*\b", re.I)
_STATUS = re.compile(r"\b(HTTP|API|status|code|returned|responded|error)( ?:? ?)([1-5]\d\d)\b", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# an HTTP status's digits, shifted out of \d while the other numbers are replaced
_HIDE = str.maketrans("0123456789", "\ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007\ue008\ue009")
_SHOW = {v: k for k, v in _HIDE.items()}


def normalise(error: str) -> str:
    """An error with what differs between tenants replaced: uuids, hex, ids, numbers, quoted values.

    An HTTP status after "HTTP", "status", "code", "returned" or "error" is kept: "returned 500" and
    "returned 404" are different causes, "after 12 s" and "after 14 s" are not."""
    text = " ".join(error[: READ_CHARS * 2].split())[:READ_CHARS]
    text = _UUID.sub("<uuid>", text)
    text = _QUOTED.sub("'…'", text)
    text = _STATUS.sub(lambda m: f"{m[1]}{m[2]}{m[3].translate(_HIDE)}", text)
    text = _HEX.sub("<hex>", text)
    text = _ID.sub("<id>", text)
    text = _NUMBER.sub("#", text).translate(_SHOW)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


@dataclass(frozen=True)
class Cause:
    """What stopped a tenant, the same for every tenant it stopped."""

    situation: Situation
    step: str | None = None
    error: str | None = None  # already normalised

    @property
    def kind(self) -> str:
        return KINDS.get(self.situation, str(self.situation))


def cause_of(assessment: Assessment) -> Cause:
    return Cause(
        assessment.situation, assessment.step or None, normalise(assessment.error) if assessment.error else None
    )


@dataclass(frozen=True)
class Group:
    cause: Cause
    members: tuple[str, ...]  # tenant ids, sorted

    def __len__(self) -> int:
        return len(self.members)


def group(causes: Mapping[str, Cause]) -> list[Group]:
    """Tenants (id -> cause) grouped by cause: the largest group first, then by situation, step, error."""
    members: dict[Cause, list[str]] = defaultdict(list)
    for tenant_id, cause in causes.items():
        members[cause].append(tenant_id)

    def order(item: tuple[Cause, list[str]]) -> tuple[int, str, str, str]:
        cause, ids = item
        return (-len(ids), cause.situation.key, cause.step or "", cause.error or "")

    return [Group(cause, tuple(sorted(ids))) for cause, ids in sorted(members.items(), key=order)]


@dataclass(frozen=True)
class Markup:
    """How a summary shows data: Slack escapes it and sets the step as code; a terminal shows it as is."""

    step: Callable[[str], str] = lambda s: f"`{s}`"
    text: Callable[[str], str] = lambda s: s


PLAIN = Markup()


def label(cause: Cause, markup: Markup = PLAIN) -> str:
    """ "orphaned at `create_storage`", "wedged at `configure_network`: upstream API returned 500"."""
    at = f" at {markup.step(cause.step)}" if cause.step else ""
    error = f": {markup.text(cause.error)}" if cause.error else ""
    return f"{cause.kind}{at}{error}"


def summary(groups: list[Group], markup: Markup = PLAIN, *, top: int = TOP) -> str:
    """ "470 orphaned at `create_storage`; 25 wedged at `configure_network`: upstream API returned 500;
    5 other". Beyond the `top` largest, groups fold into "N other" (a lone leftover group is named)."""
    named = groups if len(groups) <= top + 1 else groups[:top]
    parts = [f"{len(g)} {label(g.cause, markup)}" for g in named]
    rest = sum(len(g) for g in groups[len(named) :])
    return "; ".join(parts + ([f"{rest} other"] if rest else []))
