"""Usage records and the account balance, computed from what the accounts really did (messages, numbers)."""
