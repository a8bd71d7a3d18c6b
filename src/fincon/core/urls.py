"""URL rules: TLS everywhere but loopback, and next-links only on the origin we started from."""

from __future__ import annotations

import ipaddress

import httpx

from fincon.errors import ConfigError, PaginationError

__all__ = ["is_loopback_host", "require_safe_url", "require_same_origin", "same_origin"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_safe_url(
    url: str | httpx.URL, *, system: str | None = None, setting: str = "base_url"
) -> httpx.URL:
    """Parse ``url`` and refuse anything but ``https://`` (or ``http://`` to a loopback host)."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"{setting} is not a valid URL", system=system) from exc
    if parsed.scheme == "https" and parsed.host:
        return parsed
    if parsed.scheme == "http" and parsed.host and is_loopback_host(parsed.host):
        return parsed
    if parsed.scheme == "http":
        raise ConfigError(
            f"{setting} uses http:// to {parsed.host!r}; fincon only allows plain HTTP to loopback hosts "
            "(credentials and financial data must travel over TLS)",
            system=system,
        )
    raise ConfigError(f"{setting} must be an https:// URL", system=system)


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Same scheme, host and port (default ports made explicit)."""
    return (a.scheme, a.host, a.port or _default_port(a)) == (b.scheme, b.host, b.port or _default_port(b))


def _default_port(url: httpx.URL) -> int | None:
    return {"https": 443, "http": 80}.get(url.scheme)


def require_same_origin(link: str, origin: httpx.URL, *, system: str | None = None) -> httpx.URL:
    """Resolve ``link`` against ``origin`` and refuse it if it points elsewhere.

    A hostile or misconfigured server could otherwise send our credentials to another host.
    """
    target = origin.join(link)
    if not same_origin(target, origin):
        raise PaginationError(
            f"refused a next-link to another origin ({target.scheme}://{target.host}); "
            f"only {origin.scheme}://{origin.host} is followed",
            system=system,
        )
    return target
