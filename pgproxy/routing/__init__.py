"""Routing: routes (primary + replicas), connection pools, bans and failover."""
