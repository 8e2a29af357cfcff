"""`tenantbot serve` (the Slack app, the worker and the wedge scan, together) and `tenantbot scan`.

`serve` answers probes and scrapes on PORT in both modes (bot/probes.py): beside the Slack endpoint over
HTTP, alone in Socket Mode. Its metrics live in one registry of its own (bot/metrics.py), shared by the
app, the Web API client, the notifier, the ports' error counters and the scan schedule.
"""

from __future__ import annotations

import functools
import gc

import typer
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import create_app, slack_client
from bot.authz import GroupDirectory
from bot.batch_runs import BatchRuns
from bot.deps import BotDeps
from bot.http import EVENTS_PATH, start_http
from bot.installation import InstallationCheck
from bot.metrics import Metrics
from bot.notifier import SlackNotifier
from bot.probes import probe_routes, start_probe_server
from bot.request_updates import update_requests
from bot.socket import connect_socket_mode
from core.results import utcnow
from core.run_links import TenantLink
from core.seen import ShownRun
from tenantbot.bootstrap import NotifierFor, runtime, unlinked
from tenantbot.console_notifier import ConsoleNotifier
from tenantbot.readiness import serve_readiness
from tenantbot.running import EXIT_USAGE, Failure, run, settings, until_stopped
from tenantbot.scheduler import announce_once, recover_once, scan_once, start_scheduler
from tenantbot.settings import Settings


def slack_credentials(s: Settings) -> tuple[str, str]:
    """(bot token, signing secret), or one line saying which variables to set."""
    missing = [name for name, value in (("SLACK_BOT_TOKEN", s.slack_bot_token),) if value is None]
    if s.slack_app_token is None and s.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
    if missing:
        raise Failure(f"serve needs {' and '.join(missing)}; see the README, 'Run it in Slack'", EXIT_USAGE)
    assert s.slack_bot_token is not None
    secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else "unused-in-socket-mode"
    return s.slack_bot_token.get_secret_value(), secret


async def installation(client: AsyncWebClient, s: Settings) -> InstallationCheck:
    """Which app and workspace requests must be for; stops on an answer from Slack that will not change."""
    check = InstallationCheck(client, team_id=s.slack_team_id, app_id=s.slack_app_id)
    failure = await check.learn()
    if failure is not None and failure.lasting:
        hint = "set SLACK_TEAM_ID and SLACK_APP_ID, or check SLACK_BOT_TOKEN"
        raise Failure(f"serve could not learn which Slack workspace and app it serves ({failure}); {hint}", EXIT_USAGE)
    if failure is not None:
        typer.echo(f"warning: {failure}; requests are refused until Slack names this app's workspace", err=True)
    return check


def slack_alerts(
    client: AsyncWebClient, channel: str, actions_channel: str | None = None, metrics: Metrics | None = None
) -> NotifierFor:
    """Alerts posted to `channel`, each with an "Open in Temporal" link to its tenant's run when there is one
    and a Reset for the run it shows; actions with no open alert announced in `actions_channel` (default:
    `channel`)."""

    def notifier(run_link: TenantLink, shown_run: ShownRun) -> SlackNotifier:
        return SlackNotifier(
            client, channel, run_link=run_link, shown_run=shown_run, actions_channel=actions_channel, metrics=metrics
        )

    return notifier


def serve() -> None:
    """Run the Slack app (HTTP on PORT, or Socket Mode with SLACK_APP_TOKEN), the saga's worker and the scan."""

    async def main() -> None:
        s = settings()
        token, secret = slack_credentials(s)
        metrics = Metrics()
        client = slack_client(token, s.slack_api_url, metrics)
        check = await installation(client, s)
        # announcements go to ACTIONS_CHANNEL (default ALERT_CHANNEL); alerts only with ALERT_CHANNEL
        notifier = (
            slack_alerts(client, s.alert_channel or s.announce_to, s.announce_to, metrics) if s.announce_to else None
        )
        directory = GroupDirectory(client)  # the app's client: one set of Retry-After pauses for every call
        alerts_on = s.alert_channel is not None
        async with runtime(
            s, worker=True, notifier=notifier, directory=directory, scan=alerts_on, metrics=metrics
        ) as rt:
            deps = BotDeps(
                rt.presses,
                s.runbook_url,
                utcnow,
                rt.finder,
                s.read_timeout,
                rt.history,
                rt.links,
                rt.tenant_link,
                rt.approvals,
                alert_controls=rt.controls,
                shown_run=rt.shown_run,
                metrics=metrics,
                approval_channel=s.alert_channel,
                home=rt.home,
                command_work=rt.turns,
                batch_offers=rt.batch_offers,
                batch_runs=BatchRuns(client, rt.batches, retries=rt.batch_offers.retries if rt.batch_offers else None),
            )
            app = create_app(signing_secret=secret, client=client, installation=check, deps=deps)
            readiness = serve_readiness(rt, client)
            await recover_once(rt.recovery)  # what a crash left unfinished, before taking new presses
            requests = functools.partial(update_requests, client, rt.approvals)  # expired, or finished by the engine
            # What is built by now (modules, the runtime, the app) lives as long as the process: out of the
            # collector's full passes, which otherwise walk it all (about 150,000 objects, 100 ms or more on
            # two busy cores) and stall every request in flight.
            gc.freeze()
            schedule = start_scheduler(  # even without alerts
                rt.scanner,
                s.scan_interval,
                rt.recovery,
                rt.retention,
                announcer=rt.announcer,
                metrics=metrics,
                chores=[requests],
                # resumes batches left running (a restart, a CLI that died), editing their progress messages
                batches=deps.batch_runs,
            )
            try:
                if s.slack_app_token is not None:
                    probes = await start_probe_server(probe_routes(readiness, metrics), s.port)
                    try:
                        handler = await connect_socket_mode(app, s.slack_app_token.get_secret_value())
                        typer.echo(f"connected to Slack over Socket Mode, probes on port {s.port}; Ctrl-C to stop")
                        await until_stopped()
                        await handler.close_async()
                    finally:
                        await probes.cleanup()
                else:
                    runner = await start_http(app, s.port, readiness=readiness)
                    typer.echo(f"listening on http://0.0.0.0:{s.port}{EVENTS_PATH}; Ctrl-C to stop")
                    await until_stopped()
                    await runner.cleanup()
            finally:
                if deps.batch_runs is not None:  # their batches stay running: the next process resumes them
                    await deps.batch_runs.close()
                await app.close()
                await schedule.stop()  # before the runtime closes the database: the lease is released

    run(main, long_running=True)  # each Slack request and scan tick gets its own request id


def scan() -> None:
    """Settle actions a crash left unfinished, then run one wedge scan now: post alerts to ALERT_CHANNEL, or
    without Slack a dry run that prints them."""

    async def main() -> None:
        s = settings()
        notifier = unlinked(ConsoleNotifier(typer.echo))
        if s.alert_channel and s.slack_bot_token:
            client = slack_client(s.slack_bot_token.get_secret_value(), s.slack_api_url)
            notifier = slack_alerts(client, s.alert_channel, s.announce_to)
        async with runtime(s, worker=False, notifier=notifier) as rt:
            scanner = rt.scanner
            assert scanner is not None  # built for the notifier given
            recovered = await recover_once(rt.recovery)
            if recovered:
                typer.echo(f"settled {recovered} action(s) a crash had left unfinished")
            report = await scan_once(scanner)
            if rt.announcer is not None:
                await announce_once(rt.announcer)  # with Slack, posts what the command line recorded
        if report is None:
            raise Failure("the scan could not run; see the log line above")
        dry = " (dry run: nothing posted; `serve` posts them)" if scanner.notifier.dry_run else ""
        if report.auto_batches:
            typer.echo(f"auto-recovery started {report.auto_batches} batch(es); `tenantbot batch status` lists them")
        typer.echo(
            f"scanned {report.in_flight} in-flight tenants: {report.wedged} wedged, {report.opened} new alerts, "
            f"{report.resolved} resolved, {report.unposted} not posted yet{dry}"
            if report.ran
            else "another replica is scanning right now; nothing done"
        )

    run(main)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("scan")(scan)
