"""Alembic migrations, shipped inside the package so `baoxiao migrate` works anywhere."""
