"""Links from a tenant to its run in the engine's Web UI (Temporal's), for cards, alerts and the console.

Temporal's UI shows one run at `/namespaces/<namespace>/workflows/<workflow id>/<run id>/history`; each
part is URL-encoded, so an id with `/`, `?` or `#` still names that run. There is a link only when the
UI's address is known (TEMPORAL_UI_URL, or the embedded dev server's UI) and the row names a run the
engine accepted (a handle with a run id). Looking a tenant up for an alert is best effort: a link is
never worth failing or delaying a message, so a row that cannot be read gives no link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from core.domain import RunHandle
from core.ports import StoreError, TenantStore

TenantLink = Callable[[str], Awaitable[str | None]]  # tenant id -> the link to its current run, if any


@dataclass(frozen=True)
class RunLinks:
    ui_url: str | None = None  # None: no UI known (a cluster without TEMPORAL_UI_URL), so no links
    namespace: str = "default"

    def to(self, handle: RunHandle | None) -> str | None:
        if self.ui_url is None or handle is None or handle.run_id is None:
            return None
        parts = "/".join(quote(part, safe="") for part in (handle.workflow_id, handle.run_id))
        return f"{self.ui_url.rstrip('/')}/namespaces/{quote(self.namespace, safe='')}/workflows/{parts}/history"

    def for_tenants(self, store: TenantStore) -> TenantLink:
        """A look-up of a tenant's current run's link, for messages that know only the tenant (alerts);
        `store` is the one the service reads, each call within READ_TIMEOUT (core/bounded.py)."""

        async def link(tenant_id: str) -> str | None:
            if self.ui_url is None:
                return None
            try:
                tenant = await store.get(tenant_id)
            except StoreError:
                return None
            return self.to(tenant.handle) if tenant is not None else None

        return link
