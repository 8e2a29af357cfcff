"""Secrets out of every text that leaves the process: log lines, error lines, Slack messages.

Two nets. Shapes: Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`, …) and the password of any URL
(`postgresql://user:secret@host` becomes `postgresql://user:***@host`) are recognised wherever they
appear, even in a message that a library built from a URL it was given. Values: the composition root
registers the configured secrets once at start (the signing secret, the tokens, the Temporal API key,
DATABASE_URL's password), and every occurrence of one is masked, whatever surrounds it. The log filter
(tenantbot/log_records.py), the command line's error line (tenantbot/running.py) and the text of Slack
messages (bot/text.py) all pass through `redact`. Plain strings, no configuration of its own: the
registered values are process-wide, like the secrets they stand for.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import unquote, urlsplit

MASK = "***"
TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+")
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*:)(?P<password>[^\s@'\"]+)@")
SHORTEST = 4  # a registered "secret" shorter than this would mask ordinary words


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()  # log records come from threads too (SQLAlchemy, the SDK)

    def register(self, *secrets: str | None) -> None:
        """Mask these values from now on (None and very short values are ignored)."""
        with self._lock:
            self._values |= {s for s in secrets if s and len(s) >= SHORTEST}

    def register_url(self, url: str | None) -> None:
        """The password of `url`, as written and decoded."""
        if not url:
            return
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            self.register(password, unquote(password))

    def forget(self) -> None:
        with self._lock:
            self._values.clear()

    def __call__(self, text: str) -> str:
        text = TOKEN.sub(lambda m: m.group(0).split("-", 1)[0] + "-" + MASK, text)
        text = URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
        for value in sorted(self._values, key=len, reverse=True):  # the longest first: one may contain another
            text = text.replace(value, MASK)
        return text


redact = Redactor()  # the process's one redactor
