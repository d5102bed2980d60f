"""Conformance cases and runners: the proxy compared with real PostgreSQL (see README.md)."""
