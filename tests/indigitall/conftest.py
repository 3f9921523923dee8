"""The indigitall tests' fixtures: ``app_config``, ``app`` and ``client`` (``support.indigitall``)."""

from support.indigitall import app, app_config, client  # noqa: F401  (fixtures for this folder)
