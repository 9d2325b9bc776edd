"""Glue between Baoxiao's domains and the Feishu connector (connectors/feishu)."""
