"""Adapters of the core ports that speak to Temporal (the engine and its embedded dev server)."""
