"""Budgets and their ledger (occupy on submit, release, consume on payment)."""
