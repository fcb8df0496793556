"""The shipped models and their cards (data: read through importlib.resources)."""
