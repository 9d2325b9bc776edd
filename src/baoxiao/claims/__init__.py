"""Claims domain."""
