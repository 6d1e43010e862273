"""The demo wallet's reducers: a Python function, and the same logic as declarative rules
(which flipbook_demo configures for the "wallet" category). Both fold a wallet's events
(Opened, Deposited, Withdrawn, TransferSent, TransferReceived) into
``{"owner", "currency", "balance"}``."""

from __future__ import annotations

from typing import Any

from snapshots.reducers import reducer
from streams.records import RecordedEvent

CREDITS = {"Deposited", "TransferReceived"}
DEBITS = {"Withdrawn", "TransferSent"}


@reducer(revision="1", initial=dict)
def wallet(state: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
    """The wallet reducer in Python. Use it with FLIPBOOK_REDUCERS = {"wallet":
    "snapshots.demo_reducers.wallet"} or a category whose reducer is python with this path."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.name == "Opened":
        state["owner"] = payload.get("owner")
        state["currency"] = payload.get("currency")
        state["balance"] = 0
    elif event.name in CREDITS:
        state["balance"] = state.get("balance", 0) + payload["amount"]
    elif event.name in DEBITS:
        state["balance"] = state.get("balance", 0) - payload["amount"]
    return state


WALLET_RULES: dict[str, list[dict[str, Any]]] = {
    "Opened": [
        {"op": "set", "path": "owner", "from": "owner"},
        {"op": "set", "path": "currency", "from": "currency"},
        {"op": "set", "path": "balance", "value": 0},
    ],
    "Deposited": [{"op": "increment", "path": "balance", "from": "amount"}],
    "TransferReceived": [{"op": "increment", "path": "balance", "from": "amount"}],
    "Withdrawn": [{"op": "decrement", "path": "balance", "from": "amount"}],
    "TransferSent": [{"op": "decrement", "path": "balance", "from": "amount"}],
}
