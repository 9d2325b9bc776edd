"""Generic webhook connector: Standard Webhooks out, signed callbacks in."""
