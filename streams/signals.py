"""Signals of the store service."""

from django.dispatch import Signal

# Sent once a commit is durable (after the surrounding transaction, if any, commits), with
# ``result`` (a CommitResult). Never sent for an idempotent re-send. Receivers must not
# raise: a commit has succeeded whatever they do, so errors are logged, not propagated.
events_committed = Signal()
