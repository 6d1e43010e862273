"""Flipbook's benchmark command: event store throughput beside psycopg and eventsourcing."""
