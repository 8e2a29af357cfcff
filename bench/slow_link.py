"""A TCP relay that delivers the server's bytes `--delay` seconds late: a slow or distant engine.

    python -m bench.slow_link --port 7300 --to 127.0.0.1:7233 --delay 0.5

Every chunk the server sends is written to the client `delay` seconds after it arrived, in order
(the client's bytes go through at once), so every gRPC call through it takes `delay` longer, however
many share the connection. bench.tenant_e2e --engine-delay puts it between `serve` and the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import signal


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        while chunk := await reader.read(65536):
            if delay:
                loop.call_later(delay, _write, writer, chunk)
            else:
                writer.write(chunk)
        loop.call_later(delay, writer.close)
    except (ConnectionError, OSError):
        writer.close()


def _write(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    if not writer.is_closing():
        writer.write(chunk)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--to", required=True, help="host:port of the server")
    parser.add_argument("--delay", type=float, required=True, help="seconds")
    args = parser.parse_args()
    host, port = args.to.rsplit(":", 1)

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_reader, server_writer, 0.0), pipe(server_reader, client_writer, args.delay))

    server = await asyncio.start_server(relay, "127.0.0.1", args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
