"""Links to a run in Temporal's Web UI: the UI's own route, every part encoded, and only when both the UI
and the run are known; on the card and the alert as a link button, and in the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.alert import alert_blocks
from bot.blocks.card import tenant_card
from core.alerting.model import Alert
from core.bounded import BoundedStore
from core.decisions import Situation
from core.domain import Action, RunHandle, Tenant, TenantState
from core.run_links import RunLinks
from tenantbot.console import render_view
from tenantbot.engine import web_ui_url
from tenantbot.settings import Settings
from tests.fakes import InMemoryStore
from tests.unit.test_blocks import as_sent, worst_view

UI = "http://127.0.0.1:8233"
HANDLE = RunHandle("provision-acme-1", 1, "01a22bf6-a64b-7bd6-97fe-45ea0f2b2e87")


def test_a_run_links_to_its_history_page_in_the_namespace() -> None:
    assert RunLinks(UI, "default").to(HANDLE) == (
        f"{UI}/namespaces/default/workflows/provision-acme-1/01a22bf6-a64b-7bd6-97fe-45ea0f2b2e87/history"
    )
    assert RunLinks(UI + "/", "prod").to(HANDLE) == RunLinks(UI, "prod").to(HANDLE)


def test_every_part_is_encoded_so_odd_ids_still_name_their_run() -> None:
    odd = RunHandle("a/b?c#d e", 1, "r/1")
    url = RunLinks("https://temporal.example.com/ui", "team ns/1").to(odd)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.query, parts.fragment) == ("", "")
    assert [unquote(p) for p in parts.path.split("/")] == ["", "ui", "namespaces", "team ns/1", "workflows", *(
        "a/b?c#d e", "r/1", "history"
    )]  # fmt: skip


@pytest.mark.parametrize(
    ("links", "handle"),
    [(RunLinks(None), HANDLE), (RunLinks(UI), None), (RunLinks(UI), RunHandle("provision-acme-2", 2, None))],
    ids=["no UI known", "no run", "a run the engine has not accepted yet"],
)
def test_no_link_without_a_known_ui_and_a_started_run(links: RunLinks, handle: RunHandle | None) -> None:
    assert links.to(handle) is None


async def test_a_tenants_link_is_looked_up_and_a_database_that_fails_gives_none() -> None:
    store = InMemoryStore()
    await store.add(Tenant("acme", TenantState.PROVISIONING, datetime.now(UTC), handle=HANDLE), [])
    link = RunLinks(UI).for_tenants(BoundedStore(store, timedelta(seconds=1)))
    assert await link("acme") == RunLinks(UI).to(HANDLE) and await link("nobody") is None
    store.down = True
    assert await link("acme") is None


def test_the_ui_is_temporal_ui_url_else_the_embedded_servers_else_none(tmp_path: Path) -> None:
    assert web_ui_url(Settings(temporal_ui_url="https://t.example.com", temporal_address="t:7233")) == (
        "https://t.example.com"
    )
    assert web_ui_url(Settings(temporal_address="t:7233")) is None  # a cluster: set TEMPORAL_UI_URL
    assert web_ui_url(Settings(data_dir=tmp_path)) is None  # embedded, but no server runs there


def link_buttons(blocks: list[Block]) -> list[dict[str, Any]]:
    sent = as_sent(blocks)
    elements = [e for b in sent["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return [e for e in elements if e["action_id"] == "open_in_temporal"]


def test_the_card_and_the_alert_carry_the_link_as_a_button_and_only_when_there_is_one() -> None:
    url = RunLinks(UI).to(HANDLE)
    view = worst_view()
    card = tenant_card(view, runbook_url="https://r.example", actions=tuple(Action), run_url=url)
    [button] = link_buttons(card)
    assert (button["url"], button["text"]["text"]) == (url, "Open in Temporal")
    assert link_buttons(tenant_card(view, runbook_url="https://r.example", actions=())) == []
    alert = Alert("acme", Situation.WEDGED_NO_PROGRESS, "no progress", datetime.now(UTC), id=7)
    assert [b["url"] for b in link_buttons(alert_blocks(alert, url))] == [url]
    assert (
        link_buttons(alert_blocks(alert)) == [] and link_buttons(alert_blocks(alert, "https://x/" + "y" * 3000)) == []
    )


def test_the_console_shows_the_link_under_the_workflow() -> None:
    view = worst_view()
    shown = render_view(view, RunLinks(UI)).splitlines()
    assert shown[3] == f"  temporal ui      {RunLinks(UI).to(view.tenant.handle)}"
    assert "temporal ui" not in render_view(view)
