"""Was it a person? Telling machine opens and clicks from human ones.

Opens are counted by a pixel and clicks by our tracked redirect, and both are inflated by machines:
Apple Mail Privacy Protection fetches every pixel of every message on delivery, whether or not
anyone reads it; corporate mail filters (Proofpoint, Mimecast, Barracuda, Microsoft's Safe Links)
follow every link to scan it. We record every open and click with its user agent and its delay
since sending, mark the ones these rules call machines, and report rates both ways.

The rules (documented in the README, "Metrics"):

- an open or click with no user agent, or one naming a scanner, a bot or an HTTP library;
- an open whose user agent is exactly ``Mozilla/5.0`` (what Apple's privacy proxy sends), or that
  comes from Apple's network (17.0.0.0/8), which is where its proxy fetches from;
- an open within `MACHINE_OPEN_SECONDS` of sending (faster than anyone reads mail), or an email's
  link followed within `MACHINE_CLICK_SECONDS` of it (scanners follow links as mail arrives; a
  push or a text may well be tapped that fast, so their callers pass no delay).

Google's image proxy fetches when the person opens the message, so its opens count as human.
"""

import ipaddress
import re

MACHINE_OPEN_SECONDS = 2
MACHINE_CLICK_SECONDS = 10

_APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
_PRIVACY_PROXY_AGENT = "Mozilla/5.0"
_SCANNER = re.compile(
    r"bot\b|crawler|spider|scan|preview|proofpoint|mimecast|barracuda|safelinks|microsoft office|"
    r"python-|curl/|wget/|go-http-client|okhttp|java/|libwww|headless",
    re.IGNORECASE,
)


def _from_apple(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in _APPLE_NETWORK
    except ValueError:
        return False


def _scanner_agent(user_agent: str) -> bool:
    return not user_agent.strip() or bool(_SCANNER.search(user_agent))


def machine_open(user_agent: str, ip: str = "", delay_seconds: float | None = None) -> bool:
    """True when a pixel fetch was a proxy or a scanner rather than someone opening the message."""
    if _scanner_agent(user_agent) or user_agent.strip() == _PRIVACY_PROXY_AGENT or _from_apple(ip):
        return True
    return delay_seconds is not None and delay_seconds < MACHINE_OPEN_SECONDS


def machine_click(user_agent: str, ip: str = "", delay_seconds: float | None = None, method: str = "GET") -> bool:
    """True when a tracked link was followed by a link scanner rather than a person."""
    if method == "HEAD" or _scanner_agent(user_agent):
        return True
    return delay_seconds is not None and delay_seconds < MACHINE_CLICK_SECONDS
