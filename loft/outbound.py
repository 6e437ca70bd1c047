"""Every request Loft makes on a tenant's behalf leaves through here: one HTTP client per process, behind the
outbound guard.

Tenants choose the URLs Loft requests (webhooks, status callbacks, fallbacks, TwiML ``<Redirect>`` targets,
media); on a server shared by several tenants, or reachable from the internet, such a URL may point inside the
network Loft runs in (a cloud metadata service, an admin interface, a database), and the answer can be read
back (the webhook log keeps an excerpt, fetched media are served). The guard checks **the address of each
connection** against ``LOFT_OUTBOUND_DENY`` at the moment the socket is made (aiohttp's ``socket_factory``): the
same check whether the URL named an IP literal, a host name (every address it resolves to, so DNS rebinding
cannot slip past: the address checked is the one connected to), a decimal or hexadecimal spelling of an address,
or the target of a redirect. A denied connection is never opened.

Environment proxies (``HTTP_PROXY`` …) are not used for tenants' requests: through a proxy, the only address the
guard would see is the proxy's.

``LOFT_OUTBOUND_DENY`` is a comma-separated list of CIDRs and of these names:

- ``link-local``: 169.254.0.0/16 and fe80::/10 (where cloud metadata services answer);
- ``metadata``: other known cloud metadata addresses (100.100.100.200, fd00:ec2::254, 168.63.129.16);
- ``loopback``: 127.0.0.0/8, ::1, and 0.0.0.0/8 and :: (which reach the machine itself);
- ``private``: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 (carrier-grade NAT), fc00::/7.

The default, ``link-local,metadata``, keeps loopback and private networks reachable, because Loft is first a
development twin whose webhooks go to ``http://127.0.0.1:…``. A deployment shared by tenants who do not own
the network should deny ``loopback,private,link-local,metadata`` (docs/security.md).
"""

from __future__ import annotations

import errno
import http.cookiejar
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
import httpx
from aiohappyeyeballs import AddrInfoType
from httpx_aiohttp import AiohttpTransport

from loft.adapters import httpclient

#: What Loft's requests say they are (Twilio's webhooks say the same).
USER_AGENT = "TwilioProxy/1.1"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The names ``LOFT_OUTBOUND_DENY`` understands besides CIDRs.
GROUPS: dict[str, tuple[str, ...]] = {
    "link-local": ("169.254.0.0/16", "fe80::/10"),
    "metadata": ("100.100.100.200/32", "fd00:ec2::254/128", "168.63.129.16/32"),
    "loopback": ("127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
}
#: The NAT64 well-known prefix: an IPv6 address in it reaches the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: What a denied connection's error says (one text for every address: several denied addresses of one host are
#: reported as one error, not combined).
DENIED = "the address is denied by LOFT_OUTBOUND_DENY"


class Denied(OSError):
    """A connection the outbound guard refused to open."""

    def __init__(self) -> None:
        super().__init__(errno.EACCES, DENIED)


def networks(text: str) -> tuple[Network, ...]:
    """The networks ``text`` (``LOFT_OUTBOUND_DENY``'s syntax) names; ValueError naming what is wrong."""
    found: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        for cidr in GROUPS.get(item.lower(), (item,)):
            try:
                found.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise ValueError(f"'{item}' is neither a CIDR (such as 10.0.0.0/8) nor one of "
                                 f"{', '.join(GROUPS)}") from None
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Guard:
    """The networks Loft may not connect to on a tenant's behalf."""

    denied: tuple[Network, ...]

    @classmethod
    def of(cls, text: str) -> Guard:
        return cls(networks(text))

    def allows(self, address: str) -> bool:
        """Whether a connection to ``address`` (an IP address as a socket address gives it) may be opened."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the scope is not the address
        except ValueError:
            return False
        return not any(candidate in network for candidate in _meanings(ip) for network in self.denied
                       if candidate.version == network.version)

    def socket(self, addr_info: AddrInfoType) -> socket.socket:
        """aiohttp's ``socket_factory``: the socket for one address of a host, if the guard allows it."""
        family, kind, proto, _, address = addr_info
        if not self.allows(str(address[0])):
            raise Denied()
        return socket.socket(family=family, type=kind, proto=proto)


def _meanings(ip: Address) -> Iterable[Address]:
    """``ip`` and the IPv4 address it stands for, if any (IPv4-mapped ``::ffff:a.b.c.d``, NAT64, 6to4)."""
    yield ip
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            yield ip.ipv4_mapped
        if ip in _NAT64:
            yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            yield ip.sixtofour


def denied(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it: aiohttp and httpx wrap it) is the guard's refusal."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, Denied):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def client(guard: Guard) -> httpx.AsyncClient:
    """The HTTP client for tenants' requests: httpx's API on aiohttp's connection handling, every connection
    checked by ``guard``, no environment proxies, no cookies kept.

    httpx's own transport (httpcore) spends about 2 ms of CPU per request under concurrent load, most of it
    walking its connection pool; aiohttp needs about a tenth of that, which decides how many status callbacks
    a Loft can send per second.
    """
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limits.max_connections or 0, keepalive_timeout=limits.keepalive_expiry,
                                         socket_factory=guard.socket)
        return aiohttp.ClientSession(connector=connector, trust_env=False)

    # Tenants' requests share the client: none of them may keep a cookie for another (nor fill the memory).
    no_cookies = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(transport=AiohttpTransport(client=session, trust_env=False), trust_env=False,
                             headers={"User-Agent": USER_AGENT}, cookies=no_cookies)


def transport(client: httpx.AsyncClient) -> httpx.AsyncBaseTransport:
    """The one transport of a :func:`client` (it mounts no proxies): for requests that need none of the client's
    auth, redirect and cookie handling, which would cost as much as the exchange and keep tenants' cookies.
    (httpx has no public accessor for it: :mod:`loft.adapters.httpclient`.)"""
    return httpclient.transport_of(client)
