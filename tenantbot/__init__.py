"""Entry points and the composition root: the CLI, settings, and the wiring of real adapters."""
