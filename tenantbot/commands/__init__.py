"""Sub-commands of `tenantbot`, each module with a `register(app)` (the bolt starter template's layout).

They import how a command runs from `tenantbot.running`, never from `tenantbot.cli`, which imports them.
"""
