"""The subscription service: the one API that REST, gRPC, the push worker, the admin and the
console call. Delivery is at-least-once, in position order; the modules beside this one hold
each concern (validation, the feed, rows, checkpoints, parking, leases)."""

from subscriptions.checkpoints import (
    ack,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    nack,
    next_batch,
    pause_subscription,
    poll_batch,
    reset_subscription,
    resume_subscription,
)
from subscriptions.conf import DEFAULTS, MAX_WAIT_SECONDS, config
from subscriptions.feed import feed_head
from subscriptions.leases import (
    acknowledge,
    claim_push_subscriptions,
    deliver_after,
    pending_retries,
    record_push_outcome,
    release_push_leases,
    settle_retry,
)
from subscriptions.notifier import notifier, release_connections
from subscriptions.parking import (
    list_parked,
    replay_parked,
    retry_parked,
    retry_parked_through,
    skip_parked,
    skip_parked_through,
    stuck_behind,
)
from subscriptions.records import (
    Batch,
    Delivery,
    NackResult,
    ParkedInfo,
    PushTarget,
    StuckSubscriber,
    SubscriptionFilter,
    SubscriptionInfo,
)
from subscriptions.validation import validate_wait

__all__ = [
    "DEFAULTS",
    "MAX_WAIT_SECONDS",
    "Batch",
    "Delivery",
    "NackResult",
    "ParkedInfo",
    "PushTarget",
    "StuckSubscriber",
    "SubscriptionFilter",
    "SubscriptionInfo",
    "ack",
    "acknowledge",
    "claim_push_subscriptions",
    "config",
    "create_subscription",
    "delete_subscription",
    "deliver_after",
    "feed_head",
    "get_subscription",
    "list_parked",
    "list_subscriptions",
    "nack",
    "next_batch",
    "notifier",
    "pause_subscription",
    "pending_retries",
    "poll_batch",
    "record_push_outcome",
    "release_connections",
    "release_push_leases",
    "replay_parked",
    "reset_subscription",
    "resume_subscription",
    "retry_parked",
    "retry_parked_through",
    "settle_retry",
    "skip_parked",
    "skip_parked_through",
    "stuck_behind",
    "validate_wait",
]
