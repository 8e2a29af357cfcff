"""The Slack adapter: translates Slack payloads into core calls and core results into Block Kit."""
