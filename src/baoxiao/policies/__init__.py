"""Expense standards: versioned rule documents, a pure rules engine, stored results."""
