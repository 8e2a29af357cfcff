"""Alerting: the alert channel's side of the core, beside the tenant actions at the root of `core/`.

A scan tick finds wedged tenants (core/wedged.py) and keeps exactly one current alert per stuck episode
in the channel (`scanner`), posting and editing through `delivery`; the channel's controls (Snooze, an
alert or a digest page looked up) are answered by `controls`. Its episodes, digests and the plan of a
tick are in `model`, the ports it needs (alert store, notifier) in `ports`. It reads the tenant side;
the tenant side never reads it (tests/unit/alerting/test_boundary.py).
"""
