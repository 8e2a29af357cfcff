"""The SDK's log of activity attempts that end on purpose, by the engine's hand or because the database
is down is one line each; an unexpected error keeps its traceback. Real attempts on the dev server,
logged by the real SDK."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

import pytest

from core.decisions import Situation
from core.ports import StoreError
from tenantbot.bootstrap import Runtime
from tenantbot.logs import ACTIVITY_ENDINGS, SDK_ACTIVITY_LOGGERS, shorten_expected_activity_endings
from tests.integration.temporal.conftest import provision, reach


@pytest.fixture
def shortened(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="temporalio")
    shorten_expected_activity_endings()
    yield caplog
    for name in SDK_ACTIVITY_LOGGERS:
        logging.getLogger(name).removeFilter(ACTIVITY_ENDINGS)


async def logged(
    caplog: pytest.LogCaptureFixture, found: Callable[[str], bool], within: float = 20
) -> logging.LogRecord:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        for record in caplog.records:
            if record.name.startswith("temporalio.") and found(record.getMessage()):
                return record
        await asyncio.sleep(0.2)
    pytest.fail(f"not logged within {within} s; logged: {[r.getMessage() for r in caplog.records]}")


def sdk_tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name in SDK_ACTIVITY_LOGGERS and r.exc_info]


async def test_a_hung_attempt_that_gives_up_is_one_warning_line(
    world: Runtime, tid: str, shortened: pytest.LogCaptureFixture
) -> None:
    await provision(world, tid, "hang@1")
    record = await logged(shortened, lambda message: "hung (simulated)" in message)
    attempt = f"activity run_step attempt 1 of provision-{tid}-1"
    assert logging.Formatter().format(record) == f"{attempt} failed: Hung: reserve_storage hung (simulated)"
    assert record.levelno == logging.WARNING and sdk_tracebacks(shortened) == []


async def test_an_attempt_cancelled_under_its_step_is_one_info_line(
    world: Runtime, tid: str, shortened: pytest.LogCaptureFixture
) -> None:
    await provision(world, tid, "slow@2")
    await reach(world, tid, Situation.SLOW_BUT_ALIVE)
    tenant = await world.database.tenants.get(tid)
    assert tenant is not None and tenant.handle is not None
    await world.engine.terminate(tenant.handle, "terminated behind the bot's back")
    record = await logged(shortened, lambda message: "cancelled (timed out by the engine" in message)
    assert logging.Formatter().format(record).startswith(f"activity run_step attempt 1 of provision-{tid}-1 cancelled")
    assert record.levelno == logging.INFO and sdk_tracebacks(shortened) == []


def log_failed_attempt() -> None:
    """Log the exception being handled the way temporalio's activity worker logs a failed attempt."""
    logging.getLogger("temporalio.activity").warning(
        "Completing activity as failed", exc_info=True, extra={"__temporal_error_identifier": "ActivityFailure"}
    )


def test_an_attempt_whose_database_write_fails_is_one_warning_line_naming_the_database(
    shortened: pytest.LogCaptureFixture,
) -> None:
    try:
        try:
            raise ConnectionRefusedError("connection refused")
        except ConnectionRefusedError as e:
            raise StoreError("connection failed: connection refused") from e
    except StoreError:
        log_failed_attempt()
    [record] = [r for r in shortened.records if r.name == "temporalio.activity"]
    assert (
        logging.Formatter().format(record)
        == "activity attempt failed: the database is unavailable (connection failed: connection refused)"
    )
    assert record.levelno == logging.WARNING and sdk_tracebacks(shortened) == []


def test_an_unexpected_error_in_an_activity_keeps_its_traceback(shortened: pytest.LogCaptureFixture) -> None:
    try:
        dict[str, int]()["missing"]
    except KeyError:
        log_failed_attempt()
    [record] = sdk_tracebacks(shortened)
    assert record.levelno == logging.WARNING and "Traceback" in shortened.text and "KeyError" in shortened.text
