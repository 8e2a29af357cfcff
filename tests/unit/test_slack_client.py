"""Reading Slack's 429: the Retry-After to honour and the channel a call is paused for."""

from __future__ import annotations

import pytest

from bot.slack_client import DEFAULT_RETRY_AFTER, Pauses, channel_of, retry_after


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "30"}, 30.0),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, DEFAULT_RETRY_AFTER),
        ({"Retry-After": "inf"}, DEFAULT_RETRY_AFTER),
        ({}, DEFAULT_RETRY_AFTER),
        (None, DEFAULT_RETRY_AFTER),
    ],
)
def test_a_retry_after_is_read_in_seconds_and_an_unusable_one_waits_the_default(
    headers: dict[str, str] | None, seconds: float
) -> None:
    assert retry_after(headers) == seconds


def test_the_channel_is_found_in_json_query_or_form_arguments() -> None:
    assert channel_of({"json": {"channel": "C1", "text": "x"}}) == "C1"
    assert channel_of({"params": {"channel": "C2"}}) == "C2"
    assert channel_of({"data": {"channel": "C3"}}) == "C3"
    assert channel_of({"params": {"usergroup": "S1"}, "json": None}) is None


def test_a_pause_holds_its_own_method_and_channel_and_never_shortens() -> None:
    pauses = Pauses()
    pauses.pause(("chat.postMessage", "C1"), 30)
    pauses.pause(("chat.postMessage", "C1"), 1)  # an earlier end does not cut the longer pause short
    assert 29 < pauses.left(("chat.postMessage", "C1")) <= 30
    assert pauses.left(("chat.postMessage", "C2")) <= 0 and pauses.left(("chat.update", "C1")) <= 0
