"""Signals of erasure."""

from django.dispatch import Signal

# Sent by erase_subject with ``subject`` and ``stream_ids`` (the streams that held the
# subject's encrypted fields), once before its keys are destroyed and once after. Receivers
# drop what holds the subject's plaintext (the snapshot app drops those streams' snapshots)
# and return how many things they dropped. Sent with send(), not send_robust(): a receiver
# that fails makes the erasure fail loudly, before the keys go when it fails the first time.
subject_erased = Signal()

# Sent by erase_subject once the erasure is done, with ``erasure`` (its Erasure record). The
# API app records it in the general audit trail for erasures made from the admin or the
# command line (the REST view records its own, with the client's address).
erasure_recorded = Signal()
