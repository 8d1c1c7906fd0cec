"""Measuring: latency and Remote SQL, offline outages, the health log and the cleanup gate,
small probes."""
