"""An SMTP server on 127.0.0.1 (aiosmtpd) keeping each message it accepts as an `EmailMessage`."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Self

from aiosmtpd.controller import Controller

from .recording import HOST

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    """One SMTP transaction: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _EphemeralPortController(Controller):
    """aiosmtpd's Controller, able to listen on port 0: it learns the port the OS gave
    before its start-up check connects to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPPeer:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping each message it accepts.

    with SMTPPeer() as peer:
        ...  # send to peer.host:peer.port
        [message] = peer.wait_for(1)  # email.message.EmailMessage
    """

    host = HOST

    def __init__(self, *, port: int = 0) -> None:
        self._controller = _EphemeralPortController(self, hostname=HOST, port=port)
        self._state = threading.Condition()
        self._received: list[ReceivedMail] = []

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self._state:
            self._received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
            self._state.notify_all()
        return "250 Message accepted for delivery"

    @property
    def received(self) -> list[ReceivedMail]:
        with self._state:
            return list(self._received)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._state:
            return [mail.message for mail in self._received]

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Block until at least `count` messages have arrived and return them all."""
        with self._state:
            if not self._state.wait_for(lambda: len(self._received) >= count, timeout):
                subjects = [mail.message["Subject"] for mail in self._received]
                raise AssertionError(f"SMTPPeer: waited {timeout}s for {count} message(s), got {subjects}")
            return [mail.message for mail in self._received]

    def clear(self) -> None:
        with self._state:
            self._received.clear()

    def reset(self) -> None:
        """Between tests, for a peer that lives for the whole session."""
        self.clear()
