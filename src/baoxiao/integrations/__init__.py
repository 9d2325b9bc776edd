"""Glue between the domains and the connectors: connector instances, the dispatcher,
inbound callbacks, the event catalog and the sync monitor."""
