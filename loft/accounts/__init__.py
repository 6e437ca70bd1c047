"""Accounts, their credentials, and who may act on which account."""
