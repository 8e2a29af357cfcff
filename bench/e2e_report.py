"""The figures of bench.tenant_e2e, gathered per target and concurrency, and printed as tables."""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, field

from bench.load import Batch, quantiles
from bench.procs import Child

LATE_MS = 3000.0  # Slack's budget for the ack


@dataclass
class Figures:
    target: str  # "tenantbot" or "bare Bolt"
    concurrency: int
    loop: str = "ack"  # what a worker waits for before its next request: "ack" or "card"
    acks: list[float] = field(default_factory=list)  # ms, answered 200
    seconds: float = 0.0
    sent: int = 0
    non_200: int = 0
    to_card: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # id kind -> ms
    no_card: int = 0
    refused: int = 0  # answers the stand-in refused, as Slack would (too large, invalid blocks)
    card_seconds: float = 0.0  # from each batch's first request to its last answer
    memory: tuple[float, float] | None = None  # serve's (VmRSS, VmHWM) MB after this concurrency
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # process -> CPU seconds

    @property
    def label(self) -> str:
        return f"{self.target}, {self.loop} loop" if self.target == "tenantbot" else self.target

    def add(self, batch: Batch, arrived: dict[str, list[float]], cpu: dict[str, float]) -> None:
        """`arrived`: the stand-in's arrivals by response_url name (ack loop; the card loop's are in
        `batch`); `cpu`: CPU seconds each process used meanwhile."""
        for name, seconds in cpu.items():
            self.cpu[name] += seconds
        self.seconds += batch.seconds
        self.sent += len(batch.sent)
        for sent in batch.sent:
            if sent.status != 200:
                self.non_200 += 1
                continue
            self.acks.append(sent.ack_ms)
            if self.target != "tenantbot":
                continue
            if (arrival := sent.card or arrived.get(sent.request.name)) is None:
                self.no_card += 1
                continue
            at, status, _card = arrival
            self.refused += status != 200
            self.to_card[sent.request.kind].append((at - sent.at) * 1000)
        ats = [a[0] for a in arrived.values()] + [s.card[0] for s in batch.sent if s.card is not None]
        if ats and batch.sent:
            self.card_seconds += max(ats) - min(s.at for s in batch.sent)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def card_rate(self) -> float:
        """Answers per second: what the server sustains, since acks return before the work is done."""
        return len(self.cards()) / self.card_seconds if self.card_seconds else 0.0

    def cards(self) -> list[float]:
        return [ms for values in self.to_card.values() for ms in values]


def _three(values: list[float]) -> str:
    return " / ".join(f"{v:5.0f}" for v in quantiles(values))


def print_table(figures: list[Figures], args: argparse.Namespace) -> None:
    bare = {f.concurrency: f for f in figures if f.target != "tenantbot"}
    print(
        f"\n/tenant over HTTP, {args.rounds} rounds x {args.requests} requests per target and concurrency, "
        f"{args.tenants:,} tenants on PostgreSQL, alternating targets; x bare: req/s over the bare app's"
    )
    print(
        f"{'conc':>4}  {'target':<20}  {'ack p50 / p95 / p99 ms':>22}  {'req/s':>6}  {'x bare':>6}  "
        f"{'card p50 / p95 / p99 ms':>23}  {'cards/s':>7}  {'>3s ack/card':>12}  "
        f"{'no card':>7}  {'refused':>7}  {'non-200':>7}"
    )
    for f in figures:
        line = f"{f.concurrency:>4}  {f.label:<20}  {_three(f.acks):>22}  {f.rate:>6.0f}"
        late_acks = sum(ms > LATE_MS for ms in f.acks)
        if f.target == "tenantbot":
            ratio = f.rate / bare[f.concurrency].rate if f.concurrency in bare else float("nan")
            late = f"{late_acks} / {sum(ms > LATE_MS for ms in f.cards())}"
            line += f"  {ratio:>6.2f}  {_three(f.cards()):>23}  {f.card_rate:>7.0f}  {late:>12}"
            line += f"  {f.no_card:>7}  {f.refused:>7}"
        else:
            line += f"  {'':>6}  {'':>23}  {'':>7}  {f'{late_acks} / -':>12}  {'':>7}  {'':>7}"
        print(f"{line}  {f.non_200:>7}")
    kinds = sorted({k for f in figures for k in f.to_card})
    print("\ntime to card by id, p50 / p99 ms (count)")
    print(f"{'conc':>4}  {'loop':<4}  " + "  ".join(f"{k:>20}" for k in kinds))
    for f in figures:
        if f.target == "tenantbot":
            cells = []
            for kind in kinds:
                values = f.to_card.get(kind, [])
                p50, _, p99 = quantiles(values)
                cells.append(f"{p50:5.0f} / {p99:5.0f} ({len(values):>4})")
            print(f"{f.concurrency:>4}  {f.loop:<4}  " + "  ".join(f"{c:>20}" for c in cells))


def print_cpu(figures: list[Figures]) -> None:
    """CPU time per request of each process: which one a request keeps busy (2 cores in all)."""
    names = list(figures[0].cpu)
    print("\nCPU ms per request, by process (until the batch's last card arrived); serve's memory after")
    print(f"{'conc':>4}  {'target':<20}  " + "  ".join(f"{n:>8}" for n in names) + f"  {'cores':>5}  {'serve MB':>9}")
    for f in figures:
        cells = "  ".join(f"{1000 * f.cpu[n] / max(1, f.sent):>8.2f}" for n in names)
        wall = max(f.seconds, f.card_seconds)
        cores = sum(f.cpu.values()) / wall if wall else 0.0
        memory = f"{f.memory[0]:.0f}/{f.memory[1]:.0f}" if f.memory else "-"
        print(f"{f.concurrency:>4}  {f.label:<20}  {cells}  {cores:>5.2f}  {memory:>9}")


def print_memory(before: tuple[float, float], children: dict[str, Child]) -> None:
    print("\nresident memory, MB (VmRSS now / VmHWM peak)")
    print(f"  serve before the load: {before[0]:.0f} / {before[1]:.0f}")
    for name in ("serve", "bare"):
        now, peak = children[name].memory_mb()
        print(f"  {name} after the load:  {now:.0f} / {peak:.0f}")
