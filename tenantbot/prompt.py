"""Lines typed at a terminal, read on the event loop.

`input()` in a thread would block: Ctrl-C could not end the program until Enter is pressed, because
asyncio waits for its worker threads at exit. Here the loop reads stdin when it is readable
(`add_reader`), so a prompt is just an awaitable that a signal cancels like any other.
"""

from __future__ import annotations

import asyncio
import os
import sys
from types import TracebackType


class Prompt:
    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._partial = b""

    async def __aenter__(self) -> Prompt:
        asyncio.get_running_loop().add_reader(self.fd, self._readable)
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)

    async def ask(self, prompt: str) -> str | None:
        """The next line without its newline, or None at end of input (Ctrl-D)."""
        print(prompt, end="", flush=True)
        line = await self._lines.get()
        if line is None:
            self._lines.put_nowait(None)  # stay at end of input for later asks
        return line

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)  # readable, so this does not block
        except BlockingIOError:
            return
        except OSError:  # the terminal went away
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.fd)
            if self._partial:
                self._lines.put_nowait(self._partial.decode(errors="replace"))
            self._lines.put_nowait(None)
            return
        *complete, self._partial = (self._partial + data).split(b"\n")
        for line in complete:
            self._lines.put_nowait(line.decode(errors="replace").rstrip("\r"))
