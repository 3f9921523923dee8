"""A local stand-in for bulk-messaging providers (Jelou, indigitall)."""

from .app import create_app, get_state

__all__ = ["create_app", "get_state"]
