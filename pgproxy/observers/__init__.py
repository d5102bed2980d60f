"""Observers: events from the statement path delivered to webhooks, audit logs and plugins."""

from pgproxy.observers.bus import Observers, Subscriber
from pgproxy.observers.deadletter import DeadLetterStore
from pgproxy.observers.events import Event, Filter
from pgproxy.observers.subscribers import AuditLog, EntryPoint, EventBatch, Webhook
from pgproxy.observers.watch import Watch

__all__ = [
    "AuditLog",
    "DeadLetterStore",
    "EntryPoint",
    "Event",
    "EventBatch",
    "Filter",
    "Observers",
    "Subscriber",
    "Watch",
    "Webhook",
]
