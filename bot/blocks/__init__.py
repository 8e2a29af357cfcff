"""Block Kit renderers: the tenant card (`card`), one alert (`alert`), a digest (`digest`) and the
`/tenant stuck` list (`stuck`). Core results in, `slack_sdk.models.blocks` out, within Slack's size
budget; text from data is escaped by bot/text.py."""
