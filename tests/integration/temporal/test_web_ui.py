"""The "Open in Temporal" link points at a run the embedded dev server knows: the server's Web UI answers
on the port recorded for it, has the page the link opens, and its API describes that very run."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import pytest

from bot.blocks.card import tenant_card
from core.domain import Action
from tenantbot.bootstrap import runtime
from tests.integration.temporal.conftest import provision, world_settings

pytestmark = pytest.mark.temporal
HISTORY_ROUTE = '"/(app)/namespaces/[namespace]/workflows/[workflow]/[run]/history"'  # the UI's own route id


async def fetched(http: aiohttp.ClientSession, url: str, *, within: float = 15) -> tuple[int, str]:
    """GET `url`, waiting for the UI to come up: it starts with the server, and its first call to the
    server may come before the server listens (503 until its connection's back-off is over)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            async with http.get(url) as response:
                if response.status != 503 or asyncio.get_running_loop().time() > deadline:
                    return response.status, await response.text()
        except aiohttp.ClientConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)


async def test_the_cards_link_opens_the_tenants_run_in_the_dev_servers_web_ui(tmp_path: Path, tid: str) -> None:
    async with runtime(world_settings(tmp_path, None), worker=True) as rt:
        await provision(rt, tid, "hang@3")
        view = await rt.service.view(tid)
        card = tenant_card(
            view, runbook_url="https://r.example", actions=(Action.CANCEL,), run_url=rt.links.to(view.tenant.handle)
        )
        [url] = [e["url"] for b in card if b.type == "actions" for e in b.to_dict()["elements"] if "url" in e]
        recorded = json.loads((tmp_path / "temporal" / "server.json").read_text())
        parts = urlsplit(url)
        assert parts.netloc == f"127.0.0.1:{recorded['ui_port']}" and recorded["ui_port"] != recorded["port"]
        _, namespaces, namespace, workflows, workflow_id, run_id, history = parts.path.split("/")
        assert (namespaces, workflows, history) == ("namespaces", "workflows", "history")
        assert view.tenant.handle is not None and (unquote(workflow_id), unquote(run_id)) == (
            view.tenant.handle.workflow_id,
            view.tenant.handle.run_id,
        )
        ui = f"{parts.scheme}://{parts.netloc}"
        async with aiohttp.ClientSession() as http:
            status, page = await fetched(http, url)
            assert status == 200 and "<!doctype html>" in page.lower()
            [app] = re.findall(r'import\("(/_app/immutable/entry/app\.[^"]+\.js)"\)', page)
            status, routes = await fetched(http, ui + app)
            assert status == 200 and HISTORY_ROUTE in routes  # the page the link opens is one the UI has
            api = f"{ui}/api/v1/namespaces/{namespace}/workflows/{workflow_id}"
            status, described = await fetched(http, f"{api}?execution.runId={run_id}")
            assert status == 200, described
            info = json.loads(described)["workflowExecutionInfo"]
            assert info["execution"] == {"workflowId": unquote(workflow_id), "runId": unquote(run_id)}
            assert (info["type"]["name"], info["status"]) == ("ProvisionTenant", "WORKFLOW_EXECUTION_STATUS_RUNNING")
            status, _ = await fetched(http, f"{api}?execution.runId={quote(str(uuid.uuid4()))}")
            assert status == 404  # so the check above is about this run, not any
