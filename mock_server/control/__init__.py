"""The control plane (``/_mock``): health, reset, clock and message inspection."""

from .routes import init_app

__all__ = ["init_app"]
