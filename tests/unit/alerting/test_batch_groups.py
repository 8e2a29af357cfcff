"""What a digest offers batches for, and the options a batch preview takes (core/alerting/batch_groups.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.alerting.batch_groups import BatchOffer, InvalidOption, cause_key, offered, parse_canary, parse_rate
from core.alerting.model import ESCALATE, Alert, Digest
from core.batches import DEFAULT_RATE, Kind
from core.causes import Cause
from core.decisions import Situation
from core.freeze import Freeze

AT = datetime(2026, 11, 30, 3, 10, tzinfo=UTC)
ORPHANED = Situation.WEDGED_ORPHANED


def alert(tenant: str, step: str, *, reason: str = "orphaned", resolved: bool = False) -> Alert:
    return Alert(tenant, ORPHANED, reason, AT, step=step, digest_id=1, resolved_at=AT if resolved else None)


def test_a_digest_offers_the_groups_of_two_or_more_still_wedged_tenants_that_did_not_wedge_again() -> None:
    members = [
        *(alert(f"a-{i}", "create_storage") for i in range(3)),
        alert("a-9", "create_storage", resolved=True),
        alert("b-1", "seed_data"),  # alone
        *(alert(f"c-{i}", "bind_domain", reason=f"{ESCALATE}wedged again") for i in range(4)),
        alert("d-1", "configure_network"),
        alert("d-2", "configure_network"),
    ]
    groups = offered(Digest(1, AT), members)
    assert [(g.cause.step, g.members) for g in groups] == [
        ("create_storage", ("a-0", "a-1", "a-2")),
        ("configure_network", ("d-1", "d-2")),
    ]
    assert offered(Digest(1, AT, frozen=Freeze("U9", AT, "failover")), members) == []


def test_a_cause_key_is_short_and_tells_causes_apart() -> None:
    one, other = Cause(ORPHANED, "create_storage"), Cause(ORPHANED, "seed_data")
    assert len(cause_key(one)) == 12 and cause_key(one) == cause_key(Cause(ORPHANED, "create_storage"))
    assert cause_key(one) != cause_key(other)


def test_rate_and_canary_default_when_left_empty_and_refuse_what_a_batch_cannot_take() -> None:
    assert parse_rate(None) == DEFAULT_RATE and parse_rate(" 2.5 ") == 2.5
    assert parse_canary("", Kind.RESET_RETRY) == 5 and parse_canary(None, Kind.RESET) == 0
    for bad in ("0", "-1", "101", "fast", "nan"):
        with pytest.raises(InvalidOption):
            parse_rate(bad)
    for bad in ("-1", "101", "five", "²"):
        with pytest.raises(InvalidOption):
            parse_canary(bad, Kind.RESET_RETRY)
    with pytest.raises(InvalidOption, match="Reset alone"):
        parse_canary("3", Kind.RESET)


def test_the_preview_says_what_each_member_goes_through_in_the_single_actions_words() -> None:
    cause = Cause(ORPHANED, "create_storage")
    reset = BatchOffer(Digest(1, AT, message_ref="C9/100.1"), Kind.RESET, cause, (("a-0", "create_storage"),), 0)
    both = BatchOffer(reset.digest, Kind.RESET_RETRY, cause, reset.members, 0)
    assert reset.thread == ("C9", "100.1")
    assert "no new attempt starts: press Retry afterwards" in reset.will_not()
    assert not any(n.startswith("no new attempt") for n in both.will_not())
    assert any("Retry starts a new attempt" in w for w in both.will()) and len(reset.will()) == 3
