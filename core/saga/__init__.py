"""The provisioning saga on Temporal: shared names and the one-dataclass-per-call inputs.

Dataclass inputs (rather than positional arguments) let fields be added without breaking runs that
are already in flight, as samples-python recommends.

Faults (demo and tests) are an input of the saga and nothing else: the edge that starts a tenant's
first attempt (`tenantbot provision --fault`, the demo, tests) fills a `FaultPlan`, and the engine
adapter puts the planned fault into that attempt's `ProvisionInput`. The domain, the store and the
engine port never carry one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.domain import RunHandle

STEPS: tuple[tuple[str, str | None], ...] = (
    ("reserve_storage", "storage"),
    ("create_identity", "identity"),
    ("configure_network", "network"),
    ("seed_data", "database"),
    ("activate", None),
)
FAULTS = ("none", "hang", "slow", "fail", "error", "orphan", "jam")


@dataclass(frozen=True)
class Fault:
    """A failure to inject at one step (demo and tests): `hang@3` hangs at the third step."""

    kind: str
    step: int

    @staticmethod
    def parse(text: str | None) -> Fault | None:
        if not text or text == "none":
            return None
        kind, at, step = text.partition("@")
        if kind not in FAULTS or (at and not step.isdigit()) or not 1 <= int(step or 2) <= len(STEPS):
            raise ValueError(
                f"unknown fault {text!r}: one of {', '.join(FAULTS)}, optionally @step (1-{len(STEPS)}), e.g. hang@3"
            )
        return Fault(kind, int(step or 2))

    def __str__(self) -> str:
        return f"{self.kind}@{self.step}"


@dataclass
class FaultPlan:
    """The faults to inject, by tenant id, into attempt 1 only: Retry after a Reset runs clean."""

    faults: dict[str, Fault] = field(default_factory=dict)

    def inject(self, tenant_id: str, fault: Fault | None) -> None:
        if fault is not None:
            self.faults[tenant_id] = fault

    def for_attempt(self, tenant_id: str, attempt: int) -> Fault | None:
        return self.faults.get(tenant_id) if attempt == 1 else None


@dataclass(frozen=True)
class RunRef:
    """Which tenant and which attempt a call belongs to: the fencing token of every saga write."""

    tenant_id: str
    workflow_id: str
    attempt: int

    @property
    def handle(self) -> RunHandle:
        return RunHandle(self.workflow_id, self.attempt)


@dataclass(frozen=True)
class ProvisionInput:
    run: RunRef
    fault: str | None = None
    heartbeat_timeout_s: float = 10.0


@dataclass(frozen=True)
class StepInput:
    run: RunRef
    index: int  # 1-based position in STEPS
    fault: str | None = None


@dataclass(frozen=True)
class OutcomeInput:
    run: RunRef
    outcome: str  # completed | failed | cancelling (compensation starts) | cancelled | decommissioned
    activity: str | None = None  # the failed activity
    message: str | None = None
