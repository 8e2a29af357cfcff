"""Where a process's CPU time goes, from a py-spy raw (collapsed stacks) recording.

    python -m bench.hotspots serve.raw

bench.tenant_e2e --profile records one with py-spy (`.venv/bin/pip install py-spy`; not a project
dependency) and prints this report.

Prints the share of samples under each part of a `/tenant` request (a stack counts for a part if any
of its frames matches) and the functions with the most samples of their own.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from bench.procs import Child

# part -> substrings of a frame ("function (path/to/file.py:line)") that mark it
PARTS: dict[str, tuple[str, ...]] = {
    "waiting in epoll (idle loop)": ("EpollSelector.select",),
    "HTTP server (aiohttp request handling)": ("aiohttp/web_protocol.py",),
    "signature check (ours + Bolt's)": ("slack_sdk/signature",),
    "Bolt dispatch (middleware, listener matching)": ("slack_bolt/app/async_app.py", "slack_bolt/middleware"),
    "database reads (SQLAlchemy + psycopg)": ("sqlalchemy/", "psycopg/"),
    "engine describe (temporalio)": ("temporalio/",),
    "decision table (assess)": ("core/decisions.py",),
    "rendering the card (bot/blocks, Block Kit models)": ("bot/blocks/", "bot/text.py", "slack_sdk/models"),
    "response_url post (slack_sdk webhook)": ("slack_sdk/webhook", "bot/response_urls.py"),
    "Web API client (slack_sdk web)": ("slack_sdk/web/",),
    "saga worker": ("temporalio/worker",),
    "logging": ("logging/__init__.py",),
}


def py_spy() -> Path:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise SystemExit(f"--profile needs py-spy (not a project dependency): {spy.parent}/pip install py-spy")
    return spy


async def record(process: Child, directory: Path) -> Child:
    """py-spy sampling `process` 200 times a second without pausing it, into DIR/serve.raw until SIGINT."""
    spy = py_spy()
    directory.mkdir(parents=True, exist_ok=True)
    output = str(directory.resolve() / "serve.raw")
    command = [
        str(spy),
        "record",
        "--pid",
        str(process.pid),
        "--nonblocking",
        "--rate",
        "200",
        "--format",
        "raw",
        "-o",
        output,
    ]
    return await Child.start("py-spy", command, env={}, workdir=directory)


def read(path: Path) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def report(path: Path, top: int = 20) -> None:
    if not path.exists():
        print(f"no profile at {path}")
        return
    stacks = read(path)
    total = sum(stacks.values()) or 1
    print(f"\nserve's CPU samples (py-spy, non-blocking): {total:,}")
    print(f"{'share':>6}  part (a sample counts for every part on its stack)")
    for part, marks in PARTS.items():
        hits = sum(n for stack, n in stacks.items() if any(m in frame for frame in stack for m in marks))
        print(f"{100 * hits / total:>5.1f}%  {part}")
    own: Counter[str] = Counter()
    for stack, n in stacks.items():
        own[stack[-1]] += n
    print(f"\n{'share':>6}  functions with the most samples of their own")
    for frame, n in own.most_common(top):
        print(f"{100 * n / total:>5.1f}%  {frame[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    report(parser.parse_args().raw)


if __name__ == "__main__":
    main()
