"""Connectors to external systems: the base interface, the registry, one package per system.

Connectors import only kernel and connectors.base; they get plain DTOs, never
ORM objects, and never call domain services (integrations/ is the glue).
"""
