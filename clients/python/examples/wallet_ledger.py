"""The wallet ledger on Flipbook: deposits, withdrawals refused on insufficient funds, and
transfers between wallets stored as one atomic commit of both wallets' events.

Run it against a server (``make run`` prints an API key):

    python wallet_ledger.py --url http://127.0.0.1:8000 --key KEY
    python wallet_ledger.py --url 127.0.0.1:50051 --transport grpc --key KEY
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from typing import Any

from flipbook_client import Aggregate, Client, Event, Repository, connect


class InsufficientFunds(Exception):
    """A withdrawal or transfer larger than the wallet's balance."""


class Wallet(Aggregate):
    """A wallet's balance, folded from its events (the demo wallet's vocabulary)."""

    category = "wallet"

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.owner: str | None = None
        self.balance = 0

    # Commands: check the state, then record what happened.
    def open(self, owner: str) -> None:
        if self.version:
            raise ValueError(f"wallet {self.id} is already open")
        self.record("Opened", {"owner": owner, "currency": "EUR"})

    def deposit(self, amount: int) -> None:
        _require_positive(amount)
        self.record("Deposited", {"amount": amount})

    def withdraw(self, amount: int) -> None:
        _require_positive(amount)
        if amount > self.balance:
            raise InsufficientFunds(f"{self.id} holds {self.balance}, cannot pay {amount}")
        self.record("Withdrawn", {"amount": amount})

    def send(self, amount: int, to: str) -> None:
        _require_positive(amount)
        if amount > self.balance:
            raise InsufficientFunds(f"{self.id} holds {self.balance}, cannot send {amount}")
        self.record("TransferSent", {"amount": amount, "to": to})

    def receive(self, amount: int, sender: str) -> None:
        self.record("TransferReceived", {"amount": amount, "from": sender})

    # Apply methods: one per event name, no checks (events are facts).
    def apply_Opened(self, event: Event) -> None:
        self.owner = event.payload["owner"]

    def apply_Deposited(self, event: Event) -> None:
        self.balance += event.payload["amount"]

    def apply_Withdrawn(self, event: Event) -> None:
        self.balance -= event.payload["amount"]

    def apply_TransferSent(self, event: Event) -> None:
        self.balance -= event.payload["amount"]

    def apply_TransferReceived(self, event: Event) -> None:
        self.balance += event.payload["amount"]


def _require_positive(amount: int) -> None:
    if not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"an amount is a positive integer, not {amount!r}")


class Ledger:
    """The ledger's use cases; each retries on a version conflict with another writer."""

    def __init__(self, client: Client, *, snapshot_every: int = 10, retries: int = 5) -> None:
        self.wallets = Repository(client, Wallet, snapshot_every=snapshot_every)
        self.retries = retries

    def open(self, wallet_id: str, owner: str) -> None:
        self.wallets.execute(wallet_id, lambda w: w.open(owner), retries=self.retries)

    def deposit(self, wallet_id: str, amount: int) -> None:
        self.wallets.execute(wallet_id, lambda w: w.deposit(amount), retries=self.retries)

    def withdraw(self, wallet_id: str, amount: int) -> None:
        self.wallets.execute(wallet_id, lambda w: w.withdraw(amount), retries=self.retries)

    def transfer(self, source: str, target: str, amount: int) -> None:
        """Both wallets' events in one commit: both stored, or neither."""

        def move(sender: Wallet, receiver: Wallet) -> None:
            sender.send(amount, receiver.id)
            receiver.receive(amount, sender.id)

        self.wallets.execute([source, target], move, retries=self.retries)

    def balance(self, wallet_id: str) -> int:
        return self.wallets.get(wallet_id).balance


def run_demo(client: Client) -> dict[str, Any]:
    """Open two wallets, move money, and return their balances and the refusals seen."""
    run = uuid.uuid4().hex[:8]
    alice, bob = f"wallet-{run}-alice", f"wallet-{run}-bob"
    ledger = Ledger(client, snapshot_every=3)
    ledger.open(alice, "alice")
    ledger.open(bob, "bob")
    ledger.deposit(alice, 100)
    ledger.withdraw(alice, 30)
    refused = []
    try:
        ledger.withdraw(bob, 10)
    except InsufficientFunds as error:
        refused.append(str(error))
    ledger.transfer(alice, bob, 50)
    try:
        ledger.transfer(bob, alice, 80)
    except InsufficientFunds as error:
        refused.append(str(error))
    return {
        "alice": ledger.balance(alice),
        "bob": ledger.balance(bob),
        "refused": refused,
        "alice_events": [e.name for e in client.read(alice)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--transport", choices=["rest", "grpc"], default="rest")
    parser.add_argument("--key", default=os.environ.get("FLIPBOOK_API_KEY"))
    options = parser.parse_args(argv)
    with connect(options.url, options.key, options.transport) as client:
        result = run_demo(client)
    print(f"alice: {result['alice']}  bob: {result['bob']}")
    for refusal in result["refused"]:
        print(f"refused: {refusal}")
    print("alice's events: " + ", ".join(result["alice_events"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
