"""Batches started from Slack run in the serving process at once, with one progress message in the
digest's thread.

`serve`'s schedule resumes running batches every scan interval (tenantbot/scheduler.py); a batch started
from a digest is not left waiting for that: `start` runs it right away in a task of this process, under
the batch's lease like any other run (core/batch_runner.py), so the schedule's next look finds it held
and leaves it alone. The progress goes to one message in the digest's thread, posted when it starts and
edited at most every `every` seconds as members are handled ("312/470 reset and retried, 3 refused, 0
failed; retries: 120 past the step, 2 wedged again": core/alerting/batch_offers.py reads the retries), with
a Stop button; the last edit says how it ended. An edit Slack refuses is logged and the next one tried:
the batch itself never waits on Slack.

Where the message is is recorded on the batch's row, and `serve`'s schedule resumes batches through
`resume_all` here: a batch that a restart or a crash interrupted goes on editing the same message, from
whichever process resumes it; an automatic batch (core/auto_recovery.py) is run there too, its
announcement in the alert channel (with its Stop button) edited into its progress once it is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.batch import progress_blocks, progress_text
from bot.slack_client import RateLimited
from core.batch_runner import BatchRunner
from core.batches import Batch, Member
from core.ports import StoreError

log = logging.getLogger(__name__)
EVERY = 3.0  # seconds between two edits of the progress message
LAST_EDIT_WAIT = 120.0  # seconds the edit saying how a batch ended may wait out Slack's 429s


class BatchRuns:
    def __init__(
        self,
        client: AsyncWebClient,
        runner: BatchRunner,
        *,
        retries: Callable[[Batch], Awaitable[str | None]] | None = None,
        every: float = EVERY,
    ) -> None:
        self.client, self.runner, self.every, self.retries = client, runner, every, retries
        self.tasks: set[asyncio.Task[bool]] = set()

    def start(self, batch: Batch, thread: tuple[str, str] | None) -> asyncio.Task[bool]:
        """Run `batch` now in the background, reporting to `thread` ((channel, ts) of the digest)."""
        task = asyncio.create_task(self._run(batch, thread))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        """Stop the runs of this process (their batches stay running: the next process resumes them)."""
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def resume_all(self) -> int:
        """Run every running batch nobody else holds (serve's schedule: a restart, a crash or a CLI that died
        left it running, or auto-recovery started it), editing its progress message where it has one; how
        many this process ran."""
        ran = 0
        for batch in await self.runner.batches.running():
            if await self._run(batch, None, resumed=True):
                ran += 1
        return ran

    async def _run(self, batch: Batch, thread: tuple[str, str] | None, *, resumed: bool = False) -> bool:
        """Run `batch` here, its progress in the message it has (`resumed`) or in a new one in `thread`;
        whether it ran here (False: another process holds it, or it paused on an error and resumes later)."""
        message = batch.message_ref if resumed else await self._post(batch, thread)
        last, editing = time.monotonic(), None

        def progress(before: Batch, _member: Member) -> None:
            nonlocal last, editing, message
            message = message or before.message_ref  # an automatic batch's announcement, posted since it began
            if message is None or time.monotonic() - last < self.every or (editing and not editing.done()):
                return
            last, editing = time.monotonic(), asyncio.create_task(self._edit(batch.id, message))

        try:
            ended = await self.runner.run(batch.id, progress)
        except StoreError as e:  # the batch stays running: the schedule resumes it
            log.warning("batch %s paused: %s", batch.id, e)
            return False
        except Exception:  # the batch stays running (the schedule resumes it); this task must not die unseen
            log.exception("batch %s: its run here failed", batch.id)
            return False
        if editing is not None:
            await editing
        if ended is None:
            log.info("batch %s is run by another process", batch.id)
        shown = message or (ended.message_ref if ended is not None else None)
        if shown is not None and (ended is not None or not resumed):  # a resumed one's holder edits it
            await self._last_edit(batch.id, shown, elsewhere=ended is None)
        return ended is not None

    async def _post(self, batch: Batch, thread: tuple[str, str] | None) -> str | None:
        if thread is None:
            return None
        channel, ts = thread
        try:
            answer = await self.client.chat_postMessage(
                channel=channel, thread_ts=ts, text=progress_text(batch), blocks=progress_blocks(batch)
            )
        except (SlackApiError, SlackClientError, OSError) as e:
            log.warning("batch %s: its progress message was not posted: %s", batch.id, e)
            return None
        posted = answer.get("ts")
        if not isinstance(posted, str):
            return None
        message_ref = f"{channel}/{posted}"  # as alerts keep theirs
        try:  # so that a process resuming the batch after this one stops edits the same message
            await self.runner.batches.record_message(batch.id, message_ref)
        except StoreError as e:
            log.warning("batch %s: where its progress is shown was not recorded: %s", batch.id, e)
        return message_ref

    async def _last_edit(self, batch_id: int, message_ref: str, *, elsewhere: bool) -> None:
        """The edit that says how the batch ended is not dropped on a 429 as a progress edit is: it waits
        out Slack's Retry-After (up to LAST_EDIT_WAIT in all), else the message would show a stale count."""
        give_up = time.monotonic() + LAST_EDIT_WAIT
        while (wait := await self._edit(batch_id, message_ref, elsewhere=elsewhere)) is not None:
            if time.monotonic() + wait > give_up:
                log.warning("batch %s: its last edit was given up after Slack's 429s", batch_id)
                return
            await asyncio.sleep(wait)

    async def _edit(self, batch_id: int, message_ref: str, *, elsewhere: bool = False) -> float | None:
        """Edit the progress message to the batch as it is now; the Retry-After when Slack said 429."""
        try:
            batch = await self.runner.batches.get(batch_id)
            if batch is None:
                return None
            channel, _, ts = message_ref.partition("/")
            retries = await self.retries(batch) if self.retries is not None else None
            text, blocks = progress_text(batch, retries), progress_blocks(batch, retries, elsewhere=elsewhere)
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except RateLimited as e:
            log.info("batch %s: its progress message was not edited: %s", batch_id, e)
            return e.seconds
        except (SlackApiError, SlackClientError, OSError, StoreError) as e:
            log.warning("batch %s: its progress message was not edited: %s", batch_id, e)
        return None
