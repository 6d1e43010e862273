"""Durable subscriptions: named consumers with a checkpoint on the all-feed, pull reads, push
delivery, parked events, and the push worker."""
