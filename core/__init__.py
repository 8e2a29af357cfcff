"""Domain, decision table, service and adapters of tenantbot. Imports no Slack or scheduler code."""
