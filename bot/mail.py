"""Email for escalations and digests: one message per call over SMTP with ``aiosmtplib``
(STARTTLS when ``tls``; tests talk to an ``aiosmtpd`` server on loopback). The password is
never logged; failures raise ``MailError`` naming the SMTP code."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib


class MailError(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class Mailer:
    def __init__(self, *, host: str, port: int, sender: str, username: str = "",
                 password: str = "", tls: bool = True, timeout: float = 15.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self._password = username, password
        self.tls, self.timeout = tls, timeout

    def message(self, to: str, subject: str, body: str,
                image: bytes | None = None) -> EmailMessage:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(body)
        if image is not None:
            msg.add_attachment(image, maintype="image", subtype="png", filename="digest.png")
        return msg

    async def send(self, to: str, subject: str, body: str, image: bytes | None = None) -> str:
        """Send one message; returns the server's answer to DATA."""
        try:
            _, answer = await aiosmtplib.send(
                self.message(to, subject, body, image), hostname=self.host, port=self.port,
                username=self.username or None, password=self._password or None,
                start_tls=self.tls, use_tls=False, timeout=self.timeout)
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(str(exc.code), exc.message) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError("transport", type(exc).__name__) from None
        return answer
