"""Alerting: the alert channel's side of the core, beside the tenant actions at the root of `core/`.

A scan tick finds wedged tenants (core/wedged.py) and keeps exactly one current alert per stuck episode
in the channel (`scanner`), posting and editing through `delivery`; the channel's controls (Snooze, Take
it, an alert or a digest page looked up) are answered by `controls`; every operator action, read from
the audit feed, and the mention of an alert nobody took are posted once by `announcements`. Its
episodes, digests, announcements and the plan of a tick are in `model`, the ports it needs (alert store,
announcement store, notifier) in `ports`. It reads the tenant side;
the tenant side never reads it (tests/unit/alerting/test_boundary.py).
"""
