"""Common causes first: errors normalised, tenants grouped by cause, the largest group first."""

from __future__ import annotations

import time

import pytest

from core.causes import ERROR_CHARS, PLAIN, Cause, Markup, cause_of, group, label, normalise, summary
from core.decisions import Assessment, Recommendation, Situation

ORPHANED, ERROR, NO_PROGRESS = Situation.WEDGED_ORPHANED, Situation.WEDGED_ERROR, Situation.WEDGED_NO_PROGRESS

# (error as recorded, as normalised): what differs between tenants goes, what tells causes apart stays
NORMALISED = [
    ("upstream API returned 500", "upstream API returned 500"),
    ("identity API 503", "identity API 503"),
    ("status: 404 from the registry", "status: 404 from the registry"),
    ("timed out after 12.5 s on attempt 4", "timed out after # s on attempt #"),
    ("quota exceeded: 17 of 16 volumes", "quota exceeded: # of # volumes"),
    ("tenant acme-42 has no network", "tenant <id> has no network"),
    ("vol-0a1b2c3d not found in us-east-1", "<id> not found in <id>"),
    ("volume node7 is full", "volume <id> is full"),
    ("run 3f2504e0-4f89-11d3-9a0c-0305e82c3301 gone", "run <uuid> gone"),
    ("RUN 3F2504E0-4F89-11D3-9A0C-0305E82C3301 gone", "RUN <uuid> gone"),
    ("request 7f3a9c01 failed", "request <hex> failed"),
    ("request c0ffee12 failed", "request <hex> failed"),
    ("segfault at 0xdeadbeef", "segfault at <hex>"),
    ("key 'acme-42' missing", "key '…' missing"),
    ('bucket "tenants 7" exists', "bucket '…' exists"),
    ("no such role `admin`", "no such role '…'"),
    ("connection reset\n  by   peer", "connection reset by peer"),
    ("create_storage retrying, attempt 3: boom", "create_storage retrying, attempt #: boom"),
    ("HTTP 503 from 10.0.3.7:8443", "HTTP 503 from #.#:#"),
    ("the deadbeef cafe is closed", "the deadbeef cafe is closed"),  # words, not hex: no digit
]


@pytest.mark.parametrize(("error", "expected"), NORMALISED, ids=[e for e, _ in NORMALISED])
def test_an_error_is_normalised_to_what_it_shares_with_other_tenants(error: str, expected: str) -> None:
    assert normalise(error) == expected


def test_the_same_error_for_two_tenants_normalises_alike() -> None:
    first = "upstream API returned 500 for 'acme-42' (request 7f3a9c01, after 3.2 s)"
    second = "upstream API returned 500 for 'zeta-7' (request 0b91ee4d, after 11 s)"
    assert normalise(first) == normalise(second)


def test_another_http_status_is_another_cause() -> None:
    assert normalise("upstream API returned 500") != normalise("upstream API returned 404")


def test_a_long_error_is_cut_to_a_summary_line() -> None:
    text = normalise("word " * 100)
    assert len(text) == ERROR_CHARS and text.endswith("…")


def wedged(situation: Situation, step: str | None = None, error: str | None = None) -> Assessment:
    return Assessment(situation, Recommendation.RESET_THEN_RETRY, (), "why", step, error)


def test_the_cause_of_an_assessment_is_its_situation_step_and_normalised_error() -> None:
    found = cause_of(wedged(ERROR, "configure_network", "upstream API returned 500 (request 7f3a9c01)"))
    assert found == Cause(ERROR, "configure_network", "upstream API returned 500 (request <hex>)")
    assert cause_of(wedged(ORPHANED, None, None)) == Cause(ORPHANED)


def test_groups_come_largest_first_with_their_members_sorted() -> None:
    orphaned, api = Cause(ORPHANED, "create_storage"), Cause(ERROR, "configure_network", "upstream API returned 500")
    causes = {f"t-{i}": orphaned for i in range(5)} | {"b": api, "a": api} | {"z": Cause(NO_PROGRESS, "seed_data")}
    groups = group(causes)
    assert [(g.cause, len(g)) for g in groups] == [(orphaned, 5), (api, 2), (Cause(NO_PROGRESS, "seed_data"), 1)]
    assert groups[1].members == ("a", "b")


def test_groups_of_the_same_size_are_ordered_by_situation_then_step() -> None:
    causes = {"a": Cause(ORPHANED, "seed_data"), "b": Cause(ORPHANED, "create_storage"), "c": Cause(ERROR, "x")}
    # by situation key (wedged_error before wedged_orphaned), then by step
    assert [g.cause.step for g in group(causes)] == ["x", "create_storage", "seed_data"]


def test_the_summary_reads_like_the_incident() -> None:
    causes = {f"o-{i}": Cause(ORPHANED, "create_storage") for i in range(470)}
    causes |= {f"e-{i}": Cause(ERROR, "configure_network", "upstream API returned 500") for i in range(25)}
    causes |= {f"h-{i}": Cause(NO_PROGRESS, f"step_{i}") for i in range(5)}
    assert summary(group(causes)) == (
        "470 orphaned at `create_storage`; 25 wedged at `configure_network`: upstream API returned 500; "
        "1 hung at `step_0`; 4 other"
    )


def test_a_lone_leftover_group_is_named_rather_than_folded() -> None:
    causes = {f"t-{i}": Cause(NO_PROGRESS, f"step_{i}") for i in range(4)}
    assert "other" not in summary(group(causes)) and summary(group(causes), top=2).endswith("; 2 other")


def test_each_renderer_marks_up_the_data_its_own_way() -> None:
    cause = Cause(ERROR, "configure<x>", "bad <!channel>")
    slack = Markup(step=lambda s: f"`{s.replace('<', '&lt;')}`", text=lambda s: s.replace("<", "&lt;"))
    assert label(cause, slack) == "wedged at `configure&lt;x>`: bad &lt;!channel>"
    assert label(cause, PLAIN) == "wedged at `configure<x>`: bad <!channel>"


def test_no_tenants_is_no_groups() -> None:
    assert group({}) == [] and summary([]) == ""


def test_a_huge_error_is_normalised_from_its_start_in_little_time() -> None:
    started = time.perf_counter()
    text = normalise("a-" * 50_000 + " 42")
    assert time.perf_counter() - started < 0.5 and len(text) <= ERROR_CHARS
