"""Org domain."""
