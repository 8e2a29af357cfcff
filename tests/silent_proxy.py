"""A TCP proxy in front of a real server that can go silent, to test what a hung database does to us.

A hung PostgreSQL (a stuck host, a network partition, a server wedged on I/O) accepts connections,
or keeps the established ones open, and answers nothing. A stand-in that hangs on an `asyncio.sleep`
does not show that: a sleep is cancelled at once, while a driver waiting on a silent socket spends
seconds trying to cancel the query and close the connection. This proxy gives the driver a real
silent socket: once `silent` is set, every connection (established or new, including the driver's
cancel requests) is held open and nothing is forwarded either way.

It can also stand in for a server that is down: `refuse()` drops every connection and stops
listening, so connecting fails at once (connection refused) until `resume()` listens on the same
port again.
"""

from __future__ import annotations

import asyncio
import contextlib


class SilentProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.silent = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> SilentProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close every connection, so whatever the client still waits on fails at once."""
        if self._server is not None:
            self._server.close()
        await self._drop_connections()

    async def refuse(self) -> None:
        """Down: every connection is dropped and new ones are refused."""
        await self.stop()

    async def resume(self) -> None:
        """Up again, on the same port, forwarding (not silent)."""
        self.silent = False
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _drop_connections(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.silent:
            return  # accepted, held open, never answered
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if self.silent:
                    continue  # swallowed: the other side waits for an answer that never comes
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
