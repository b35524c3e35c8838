"""SMS through Twilio: one text per call, Twilio's answer classified, and the text itself made to fit.

The SMS channel builds on this; nothing here knows about deliveries or users. Without credentials
(`configured()` is false) a text is printed to stdout instead, like Django's console email backend.

GSM-7: no maintained library for the GSM 03.38 alphabet is among our dependencies, so the basic set
and its extension table are written out below (3GPP TS 23.038, section 6.2.1). A text entirely in
them goes as 160 characters a segment (153 when split; an extension character takes two); one
character outside them turns the whole text into UCS-2, 70 a segment (67 when split).
"""

import json
import logging
import os
import sys
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from django.conf import settings
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageList

from accounts.phones import mask_phone

from .base import Permanent, Result, Sent, Transient, retry_after_seconds

SEND_TIMEOUT_S: float = 10  # seconds for Twilio to answer one send

# Twilio error codes (https://www.twilio.com/docs/api/errors/<code>) that say the number cannot get
# texts at all: not a phone number, not a mobile, a landline.
ADDRESS_DEAD_CODES = frozenset({21211, 21614, 21635})
OPTED_OUT_CODE = 21610  # the recipient texted STOP to our sender; only their START undoes it
RATE_LIMITED_CODE = 20429

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # each sent as ESC + one septet: two of the 160
SINGLE_SEGMENT_SEPTETS = 160
SPLIT_SEGMENT_SEPTETS = 153  # a concatenated text's header takes 7 septets of each part
SINGLE_SEGMENT_UCS2 = 70
SPLIT_SEGMENT_UCS2 = 67

# Characters that would force UCS-2, and what goes in their place. Others are tried through their
# Unicode compatibility decomposition (é stays, á becomes a, ﬁ becomes fi); what is left (emoji,
# most scripts) is dropped.
GSM7_REPLACEMENTS = {
    **dict.fromkeys("\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a", " "),
    **dict.fromkeys("\u2028\u2029\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff\ufe0f", ""),  # soft hyphen, zero-width, VS16
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2026": "...",
    "\u2022": "-",
    "\u00b7": "-",
    "\u00d7": "x",
    "\u00f7": "/",
    "\u2044": "/",
    "\u2122": "TM",
    "\u00a9": "(c)",
    "\u00ae": "(R)",
    "\u00a2": "c",
    "\u00b0": " deg",
    "\u00e7": "c",  # GSM has only the capital Ç
}

_local = threading.local()
_console_lock = threading.Lock()


# --- sending -----------------------------------------------------------------------------------


def configured() -> bool:
    """Whether Twilio can be used: an Account SID, an Auth Token and a sender (number or Messaging Service)."""
    return bool(
        settings.TWILIO_ACCOUNT_SID
        and settings.TWILIO_AUTH_TOKEN
        and (settings.TWILIO_PHONE_NUMBER or settings.TWILIO_MESSAGING_SERVICE_SID)
    )


def send_text(to: str, body: str, *, status_callback: str = "", validity_s: int | None = None) -> Result:
    """Send one SMS to `to` (E.164) and say how it went.

    `status_callback`: where Twilio posts the message's status changes. `validity_s`: how long
    Twilio may keep it queued before dropping it (urgent texts that would arrive stale).
    """
    if not configured():
        return _print_to_console(to, body)
    sender = _sender()
    try:
        message = sender.messages.create(
            to=to,
            body=body,
            status_callback=status_callback or values.unset,
            validity_period=values.unset if validity_s is None else validity_s,
            **sender.from_fields,
        )
    except (TwilioRestException, TwilioServiceException) as error:
        return _classify(error, sender.http.last_headers, to)
    except urllib3.exceptions.HTTPError as error:  # refused, reset, timed out: Twilio may not have it
        return Transient(f"Twilio unreachable: {type(error).__name__}: {error}"[:500])
    return Sent(provider_id=message.sid or "")


def valid_signature(url: str, params: dict[str, Any], signature: str) -> bool:
    """Whether a webhook really came from Twilio: `X-Twilio-Signature` over the full URL and the POST
    fields, by our Auth Token. Always False without a token."""
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


class _PooledHttpClient(HttpClient):
    """The twilio library's HTTP client interface over one urllib3 connection pool; answers' headers kept.

    The library's own client sends through requests, whose per-call work (preparing the request,
    merging session and environment settings, hooks, cookies) took ~0.25 ms of a ~0.55 ms send to
    a nearby server, measured; urllib3, which requests sends with, takes the rest. The proxy and CA
    bundle are read from the environment once, as requests reads them; ~/.netrc never is (Twilio's
    auth is explicit). Nothing is retried here: a POST sent again after a lost answer could text
    twice, so the policy decides retries. `TwilioRestException` carries no headers, so 429's
    Retry-After is read from `last_headers` (one client per thread: no races).
    """

    def __init__(self, api_url: str, timeout_s: float) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), is_async=False, timeout=timeout_s)
        environment = requests.Session().merge_environment_settings(api_url, {}, None, None, None)
        verify = environment["verify"]
        bundle = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
        tls = {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir" if os.path.isdir(bundle) else "ca_certs": bundle}
        proxy = requests.utils.select_proxy(api_url, environment["proxies"])
        if proxy:
            headers = requests.adapters.HTTPAdapter().proxy_headers(proxy)
            self.pool: urllib3.PoolManager = urllib3.ProxyManager(proxy, proxy_headers=headers, **tls)
        else:
            self.pool = urllib3.PoolManager(**tls)
        self.last_headers: dict[str, str] = {}

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self.last_headers = {}
        fields = dict(headers or {})
        if auth:
            fields.update(urllib3.make_headers(basic_auth=":".join(auth)))
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        body = None
        if data is not None and fields.get("Content-Type") in ("application/json", "application/scim+json"):
            body = json.dumps(data)
        elif data is not None:
            body = urlencode(data, doseq=True)
            fields.setdefault("Content-Type", "application/x-www-form-urlencoded")
        seconds = timeout if timeout is not None else self.timeout
        answer = self.pool.request(
            method.upper(),
            url,
            body=body,
            headers=fields,
            timeout=urllib3.Timeout(connect=seconds, read=seconds),
            retries=False,
            redirect=allow_redirects,
        )
        self.last_headers = dict(answer.headers)
        return Response(answer.status, answer.data.decode("utf-8", errors="replace"), self.last_headers)


@dataclass(frozen=True)
class _Sender:
    settings_key: tuple[object, ...]
    http: _PooledHttpClient
    messages: MessageList
    from_fields: dict[str, str]


def _sender() -> _Sender:
    """This thread's Twilio client, made on first use and again whenever the settings change."""
    key = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_PHONE_NUMBER,
        settings.TWILIO_MESSAGING_SERVICE_SID,
        settings.TWILIO_API_URL,
        SEND_TIMEOUT_S,
    )
    sender: _Sender | None = getattr(_local, "sender", None)
    if sender is not None and sender.settings_key == key:
        return sender
    if sender is not None:
        sender.http.pool.clear()
    account_sid, auth_token, phone_number, service_sid, api_url, timeout_s = key
    http = _PooledHttpClient(api_url, timeout_s)
    client = Client(account_sid, auth_token, http_client=http, environment={})
    client.api.base_url = api_url
    # A Messaging Service picks the sender from its pool; it wins over a number when both are set.
    from_fields = {"messaging_service_sid": service_sid} if service_sid else {"from_": phone_number}
    _local.sender = sender = _Sender(key, http, client.api.account.messages, from_fields)
    return sender


def _classify(error: TwilioRestException | TwilioServiceException, headers: dict[str, str], to: str) -> Result:
    """Twilio's answer as a result; the number, which Twilio's messages quote, masked (they are stored and shown)."""
    status = error.status or 0
    code = error.code or status
    if isinstance(error, TwilioServiceException):
        message = error.detail or error.title
    else:  # the library prefixes Twilio's message with what it was doing
        message = str(error.msg).removeprefix("Unable to create record: ")
    text = f"Twilio {code}: {_without_number(str(message), to)}"[:500]
    if code == RATE_LIMITED_CODE or status == 429 or status >= 500:
        return Transient(text, retry_after=_retry_after(headers))
    if code in ADDRESS_DEAD_CODES:
        return Permanent(text, address_dead=True)
    if code == OPTED_OUT_CODE:
        return Permanent(text, opted_out=True)
    return Permanent(text)


def _without_number(text: str, to: str) -> str:
    national = to.removeprefix("+1") if to.startswith("+1") else to.removeprefix("+")
    for form in (to, national):
        if form and len(form) >= 7:
            text = text.replace(form, mask_phone(to))
    return text


def _retry_after(headers: dict[str, str]) -> float | None:
    return retry_after_seconds(next((v for k, v in headers.items() if k.lower() == "retry-after"), None))


def _print_to_console(to: str, body: str) -> Sent:
    """The console twin, for development without Twilio: the text on stdout, the number masked."""
    separator = "-" * 79
    text = f"SMS to {mask_phone(to)} (printed: no Twilio credentials set)\n{body}\n{separator}\n"
    with _console_lock:
        sys.stdout.write(text)
        sys.stdout.flush()
    return Sent(provider_id=f"console-{uuid.uuid4().hex}")


# --- the text ----------------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM 03.38 basic set or its extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def septets(text: str) -> int:
    """The GSM-7 length of `text` (an extension character counts two); only meaningful when is_gsm7."""
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def segments(text: str) -> int:
    """How many SMS segments `text` is billed as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, split = SINGLE_SEGMENT_SEPTETS, SPLIT_SEGMENT_SEPTETS
    else:  # UTF-16 code units; a surrogate pair is never split across segments
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, split = SINGLE_SEGMENT_UCS2, SPLIT_SEGMENT_UCS2
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for unit in units:  # an escape and its character travel in the same segment
        if used + unit > split:
            count, used = count + 1, 0
        used += unit
    return count


def to_gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet: look-alikes replaced (curly quotes, dashes, odd spaces, …),
    accents that GSM lacks dropped from their letter, and anything left unmappable (emoji) removed."""
    out = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in GSM7_REPLACEMENTS:
            out.append(GSM7_REPLACEMENTS[char])
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            out.extend(
                GSM7_REPLACEMENTS.get(part, part)
                for part in decomposed
                if part in GSM7_BASIC or part in GSM7_EXTENSION or part in GSM7_REPLACEMENTS
            )
    return "".join(out)


def sms_text(title: str, price: str, link: str, *, prefix: str = "Deal", sep: str = " - ") -> str:
    """A deal as one SMS: `"{prefix}: {title}{sep}{price}\n{link}"`, in GSM-7 and within one segment
    (160) whenever the link leaves room: the title is cut first (ending "..."), then the price, then
    the prefix. The link is never changed or cut.

    News about a watched listing passes what happened as the price, after a space:
    "Price drop: ThinkPad T14 dropped to $310 (-18%, was $380)": a long title gives way, the news stays.
    """
    prefix, title, price = (" ".join(to_gsm7(part).split()) for part in (prefix, title, price))
    tail = "\n" + link
    budget = SINGLE_SEGMENT_SEPTETS - (septets(tail) if is_gsm7(tail) else len(tail))
    head = _head(prefix, title, price, sep)
    if septets(head) > budget:
        room = budget - septets(_head(prefix, "", price, sep)) - (len(sep) if price else len(": ") if prefix else 0)
        title = _cut(title, room)
        head = _head(prefix, title, price, sep)
    if septets(head) > budget:
        price = _cut(price, budget - (septets(prefix) + len(": ") if prefix else 0))
        head = _head(prefix, "", price, sep)
    if septets(head) > budget:
        head = _cut(prefix, budget)
    return head + tail if head else link


def _head(prefix: str, title: str, price: str, sep: str = " - ") -> str:
    words = sep.join(part for part in (title, price) if part)
    if prefix and words:
        return f"{prefix}: {words}"
    return prefix or words


def _cut(text: str, room: int) -> str:
    """`text` within `room` septets, ending "..." when cut; "" when not even that fits."""
    if septets(text) <= room:
        return text
    if room < 4:  # "..." and one character at least
        return ""
    kept, used = [], 0
    for char in text:
        cost = 2 if char in GSM7_EXTENSION else 1
        if used + cost > room - 3:
            break
        kept.append(char)
        used += cost
    return "".join(kept).rstrip() + "..."


def twiml_reply(text: str) -> str:
    """The TwiML answer to an incoming text: `text` sent back, or nothing when it is empty."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(to_gsm7(text))
    return str(response)
