"""Delivery: the outbox, the workers that drain it, throughput pacing and the carriers messages leave by."""
