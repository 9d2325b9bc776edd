"""Refuse outbound requests to internal addresses (SSRF guard).

Resolves the host and rejects loopback, private, link-local, multicast,
reserved and unspecified addresses (IPv4 and IPv6, including IPv4-mapped
IPv6), unless the caller explicitly allows private networks. Only http and
https are accepted. Known limit: the check and the connection resolve the
name separately, so a DNS-rebinding host could answer differently the second
time; production deployments that need more should route egress through a
filtering proxy (e.g. smokescreen), as the Standard Webhooks spec suggests.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedDestination(Exception):
    """The URL points somewhere outbound requests may not go."""


def is_internal(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedDestination(f"cannot resolve host {host!r}") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise BlockedDestination unless `url` is http(s) to a public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedDestination(f"scheme {parts.scheme!r} is not allowed")
    if not parts.hostname:
        raise BlockedDestination("URL has no host")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for ip in resolve(parts.hostname, port):
        if is_internal(ip):
            raise BlockedDestination(f"{parts.hostname} resolves to internal address {ip}")
