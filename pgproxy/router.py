"""Kept for imports of the old path: routing lives in pgproxy/routing/."""

from pgproxy.routing.router import Route, Router

__all__ = ["Route", "Router"]
