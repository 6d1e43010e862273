"""The outbound request policy of push delivery: which hosts the push worker may reach.

A push subscription names a URL or a ``host:port``, and the server connects to it: without a
policy, anyone who may create a subscription could make the server call its own cloud
metadata service, its loopback or the private network (server-side request forgery). So the
host is resolved, and every address it resolves to must be a public unicast address, unless
the allow-list FLIPBOOK_PUSH_ALLOWED_NETWORKS names its network. The check runs when a
subscription is created (a clear 400) and again at every connection, on the addresses the
connection then uses, so a name that later resolves elsewhere (DNS rebinding) is refused."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache

from streams.conf import flipbook_settings
from streams.exceptions import ValidationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv4 spelled as one number, in hex or octal, or with fewer than four parts
# (2130706433, 0x7f000001, 0177.0.0.1, 127.1): resolvers disagree on these, so they are
# refused rather than interpreted.
_LOOSE_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)


class RefusedDestination(ValidationError):
    """A push destination the outbound policy refuses (code ``validation_error``)."""


def allowed_networks() -> tuple[Network, ...]:
    """The networks push delivery may reach although they are not public
    (settings.FLIPBOOK_PUSH_ALLOWED_NETWORKS: CIDRs or single addresses)."""
    return _parse_networks(tuple(flipbook_settings.PUSH_ALLOWED_NETWORKS or ()))


@lru_cache(maxsize=8)
def _parse_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# host, port -> addresses (text). Tests replace it with a stub that maps test names to
# loopback addresses, so no test ever asks a real resolver or reaches another machine.
resolver: Callable[[str, int], list[str]] = _system_resolver


def why_refused(address: Address) -> str | None:
    """Why ``address`` may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return why_refused(embedded)
        if address.teredo is not None:
            return "a Teredo tunnel address"
    if any(address in network for network in allowed_networks()):
        return None
    for kind, flag in (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
    ):
        if flag:
            return f"{kind} address"
    if not address.is_global:  # shared address space (100.64/10) and the like
        return "a non-public address"
    return None


def literal_address(host: str, field: str = "host") -> Address | None:
    """The IP address ``host`` spells in canonical form, or None for a host name. Raises
    RefusedDestination for a loose IPv4 spelling (hex, octal, one number, short forms)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        pass
    if _LOOSE_IPV4.fullmatch(bare):
        raise RefusedDestination(
            field, f"{host!r} is not a canonical IP address; write it as a.b.c.d"
        )
    return None


def checked_addresses(host: str, port: int, field: str = "host") -> list[Address]:
    """Resolve ``host`` and return its addresses when every one may be reached. Raises
    RefusedDestination (naming ``field``) when one may not, or the host does not resolve."""
    literal = literal_address(host, field)
    if literal is not None:
        addresses: Iterable[Address] = [literal]
    else:
        try:
            found = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise RefusedDestination(field, f"host {host!r} does not resolve ({exc})") from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    addresses = list(dict.fromkeys(addresses))
    if not addresses:
        raise RefusedDestination(field, f"host {host!r} does not resolve")
    for address in addresses:
        reason = why_refused(address)
        if reason is not None:
            raise RefusedDestination(
                field,
                f"{host!r} resolves to {address}, {reason}; push delivery reaches only public "
                "addresses unless FLIPBOOK_PUSH_ALLOWED_NETWORKS names the network",
            )
    return addresses


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host:port`` on an address the policy allows, checked now (not
    when the subscription was made). Raises RefusedDestination or OSError."""
    last: OSError | None = None
    for address in checked_addresses(host, port):
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((str(address), port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last or OSError(f"cannot connect to {host}:{port}")
