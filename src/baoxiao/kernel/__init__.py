"""Domain-free building blocks: database, transactions, errors, money, crypto, clock.

Nothing in kernel imports a domain package; every domain imports kernel.
"""
