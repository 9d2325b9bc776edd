"""Baoxiao: expense reimbursement that works as one with the OA suite."""

__version__ = "0.1.0"
