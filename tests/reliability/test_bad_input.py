"""Bad input (issue 13), as properties (hypothesis): whatever the slash text, the button or the command
line argument, the answer is clear and prompt, nothing changes, and nothing from the input reaches
Slack unescaped (it cannot ping `@channel` or show a disguised link); whatever a setting's value, it
is taken or refused in one line naming it. Never an unhandled exception, a 5xx or a traceback.

Slash text and buttons go over signed HTTP to a real `serve`; the command line runs the `tenantbot`
entry point in this process (a process per example would cost a second and a half of CPU each; its
one-line errors as a real process are checked in tests/integration/test_cli.py); settings go through
`load_settings`, which every command calls first. The shapes of Slack's payloads (fields missing, of
the wrong type, nested too deep) are fuzzed in tests/e2e/test_bad_requests.py. Modals are not here:
the bot opens none yet (they arrive with a later issue).
"""

from __future__ import annotations

import io
import os
import runpy
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import redirect_stderr, redirect_stdout
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantbot.settings import Settings, SettingsError, load_settings
from tests.integration.temporal.processes import DevServer
from tests.reliability.conftest import ACK_BUDGET, Background, World, said, world

pytestmark = [pytest.mark.slow, pytest.mark.temporal]
BOUNDED = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
KNOWN = "known-1"  # an active tenant: its row must stay as it is
# what would ping, mention or link if it reached Slack as it was typed
MARKUP = ["<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN>", "<#C0OPS>", "<https://evil.example|runbook>"]
# what would break a line, rewrite a terminal or turn text around if it reached one as it was typed
CONTROL = ["\n", "\r", "\x1b[2J", "\u202e", "\u0085", "\u2028"]
SYNTAX = ["&amp;", "&lt;", "*", "_", "~", "`", "```", ">", "\t", "\u200b", "%", "+", "&", "=", " ", "-"]
pieces = st.one_of(
    st.sampled_from(MARKUP),
    st.sampled_from(CONTROL),
    st.sampled_from(SYNTAX),
    st.text(max_size=12),
    st.sampled_from([KNOWN, "stuck", "help", "acme-42", "x" * 70]),
)
texts = st.one_of(st.lists(pieces, min_size=1, max_size=8).map("".join), st.text(max_size=200))
odd_values = st.one_of(texts, st.none(), st.integers(), st.booleans(), st.lists(st.integers(), max_size=2))
BUTTONS = ["tenant_reset", "tenant_retry", "tenant_cancel", "tenant_decommission", "tenant_share"]


@pytest.fixture(scope="module")
async def inputs(
    tmp_path_factory: pytest.TempPathFactory, background: Background, engine: DevServer
) -> AsyncIterator[World]:
    async with world(tmp_path_factory.mktemp("input"), background, engine) as built:
        await built.provision("none", KNOWN)
        await built.until_card_says(KNOWN, f"{KNOWN}: active")
        yield built


def changes(world: World, before: tuple[list[tuple[Any, ...]], Counter[str]]) -> tuple[bool, Counter[str]]:
    """Whether any tenant row changed, and the audit events written since `before`."""
    tenants, kinds = world.db.snapshot()
    return tenants != before[0], kinds - before[1]


def echoes_no_markup(sent: str, shown: str) -> None:
    for token in MARKUP:
        assert token not in shown or token not in sent, f"{token!r} from the input reached Slack as it was"


@BOUNDED
@given(text=texts)
async def test_any_slash_text_gets_one_clear_private_answer_echoing_no_markup_and_changing_nothing(
    inputs: World, text: str
) -> None:
    before = inputs.db.snapshot()
    sent = await inputs.command(text)
    assert (sent.status, sent.ack < ACK_BUDGET) == (200, True)
    answer = await inputs.answer(sent)
    shown = said(answer)
    assert answer.get("response_type") == "ephemeral" and answer.get("text")
    assert "Something went wrong" not in shown, shown[:300]
    echoes_no_markup(text, shown)
    assert changes(inputs, before) == (False, Counter())
    assert len(inputs.messages(sent.name)) == 1


@BOUNDED
@given(
    action_id=st.one_of(st.sampled_from(BUTTONS), odd_values),
    value=st.one_of(st.sampled_from([KNOWN, "nobody-1"]), odd_values),
    block=st.one_of(st.sampled_from([f"tenant_actions:{KNOWN}", "tenant_actions:nobody-1"]), odd_values),
    user=st.one_of(st.just("U1"), texts),
)
async def test_any_button_is_acked_and_answered_clearly_or_refused_as_malformed_and_runs_nothing(
    inputs: World, action_id: object, value: object, block: object, user: str
) -> None:
    before = inputs.db.snapshot()
    button = {"action_id": action_id, "value": value, "block_id": block}
    sent = await inputs.press("reset", KNOWN, user=user, button=button)
    assert sent.status in (200, 400) and sent.ack < ACK_BUDGET, sent
    if sent.status == 200:  # a press the bot reads: answered once, privately, clearly
        answer = await inputs.answer(sent)
        shown = said(answer)
        assert answer.get("text") and "Something went wrong" not in shown, shown[:300]
        echoes_no_markup(f"{action_id}{value}{block}{user}", shown)
    rows_changed, written = changes(inputs, before)
    assert not rows_changed and set(written) <= {"action_refused"}, written  # refusals are audited, nothing runs
    assert len(inputs.messages(sent.name)) == (1 if sent.status == 200 else 0)


def tenantbot_in_process(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the `tenantbot` entry point here, as `python -m tenantbot <args>` would: exit code, stdout, stderr.
    From a test that is not a coroutine: the command runs its own event loop, and its signal handlers
    need the main thread."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["tenantbot", *args]
    with patch.dict(os.environ, env), patch.object(sys, "argv", argv), redirect_stdout(out), redirect_stderr(err):
        try:
            runpy.run_module("tenantbot", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
    return code, out.getvalue(), err.getvalue()


@settings(BOUNDED, max_examples=40)
@given(text=texts.filter(lambda t: "\x00" not in t), command=st.sampled_from(["tenant", "reset", "situation"]))
def test_any_tenant_id_on_the_command_line_is_one_line_and_a_clean_exit_and_changes_nothing(
    inputs: World, text: str, command: str
) -> None:
    env = {**inputs.env, "DATABASE_URL": inputs.cli_database}
    args = {
        "tenant": ["tenant", "--", text],
        "reset": ["reset", "--yes", "--", text],
        "situation": ["tenants", f"--situation={text}"],
    }[command]
    before = inputs.db.snapshot()
    code, out, err = tenantbot_in_process(env, *args)
    assert "Traceback" not in out + err
    assert code in (0, 1, 2), (code, out, err)
    if code:
        assert err.startswith("error: ") and err.endswith("\n") and len(err.splitlines()) == 1, err  # one line
    shown = [c for c in CONTROL if c in text and c in out + err and c != "\n"]  # a line break: the one-line check
    assert not shown, f"{shown} reached the terminal as typed"
    assert changes(inputs, before) == (False, Counter())


SETTINGS = sorted(name.upper() for name in Settings.model_fields)


@BOUNDED
@given(name=st.sampled_from(SETTINGS), value=st.text(max_size=80).filter(lambda v: "\x00" not in v))
def test_any_value_of_any_setting_is_taken_or_refused_in_one_line_naming_it(name: str, value: str) -> None:
    with patch.dict(os.environ, {name: value}):
        try:
            load_settings()
        except SettingsError as e:
            message = str(e)
            assert "\n" not in message and name in message, message
