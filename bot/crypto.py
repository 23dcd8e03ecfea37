"""WeCom callback cryptography: one pure module, no I/O, no clock of its own.

The rules come from WeCom's 加解密方案说明 [doc 91144] and the AI-bot variant [doc 101033]:

* ``msg_signature = sha1_hex("".join(sorted([token, timestamp, nonce, encrypt])))``
* ``AESKey = base64decode(EncodingAESKey + "=")`` (32 bytes, AES-256-CBC), ``IV = AESKey[:16]``
* plaintext = random(16) ‖ len(msg) as 4-byte big-endian ‖ msg ‖ receiveid
* PKCS#7 padding to a multiple of **32** bytes (pad values 1..32)
* receiveid is the CorpID (self-built app) or ``""`` (internal AI bot)

wechatpy's ``WeChatCrypto`` implements the same scheme but draws its random prefix itself and
compares signatures with ``==``; here the random source is injected (so encryption is testable
byte for byte against the official vectors) and signatures are compared in constant time.
``tests/bot/test_crypto.py`` cross-checks both implementations.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 32  # WeCom pads to 32 bytes, not the AES block size of 16 [doc 91144]


class CryptoError(Exception):
    """Base of every verification / decryption failure. ``reason`` is safe to log."""

    reason = "crypto error"

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.reason)
        if reason:
            self.reason = reason


class SignatureError(CryptoError):
    reason = "signature mismatch"


class DecryptError(CryptoError):
    reason = "ciphertext does not decrypt"


class ReceiveIdError(CryptoError):
    reason = "receiveid mismatch"


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Lower-case hex SHA-1 over the four strings sorted and joined [doc 91144]."""
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def aes_key_from_encoding_key(encoding_aes_key: str) -> bytes:
    """Decode the 43-character EncodingAESKey into the 32-byte AES key.

    Raises ``ValueError`` with a message fit for a settings error.
    """
    if len(encoding_aes_key) != 43:
        raise ValueError("must be 43 characters (the EncodingAESKey from the WeCom console)")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("is not valid base64") from exc
    if len(key) != 32:
        raise ValueError("does not decode to 32 bytes")
    return key


def _pad(data: bytes) -> bytes:
    n = _BLOCK - (len(data) % _BLOCK)
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise DecryptError("empty plaintext")
    n = data[-1]
    if n < 1 or n > _BLOCK or len(data) < n:
        raise DecryptError("bad padding")
    # WeCom's own samples do not check every pad byte; neither do we beyond the value range,
    # so that any ciphertext the official SDKs accept is accepted here.
    return data[:-n]


@dataclass(frozen=True)
class Decrypted:
    random16: bytes
    message: bytes
    receiveid: str

    @property
    def text(self) -> str:
        return self.message.decode("utf-8")


@dataclass
class WeComCrypto:
    """Verify, decrypt and encrypt for one callback endpoint.

    ``random_bytes`` is injectable so that tests can reproduce the official ciphertexts.
    """

    token: str
    encoding_aes_key: str
    receiveid: str
    random_bytes: Callable[[int], bytes] = field(default=os.urandom, repr=False)

    def __post_init__(self) -> None:
        self._key = aes_key_from_encoding_key(self.encoding_aes_key)
        # One Cipher for the endpoint (the key and IV never change); each message gets its own
        # encryptor / decryptor context from it. Building it per message was a third of a
        # decrypt (issue 15).
        self._cipher = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def __repr__(self) -> str:  # never print the token or key
        return f"WeComCrypto(receiveid={self.receiveid!r})"

    # -- verification -----------------------------------------------------------------------

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode()):
            raise SignatureError()

    # -- decryption -------------------------------------------------------------------------

    def decrypt(self, encrypt: str) -> Decrypted:
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("ciphertext is not base64") from exc
        if not raw or len(raw) % 16:
            raise DecryptError("ciphertext length is not a multiple of the AES block")
        dec = self._cipher.decryptor()
        plain = _unpad(dec.update(raw) + dec.finalize())
        if len(plain) < 20:
            raise DecryptError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise DecryptError("declared length exceeds plaintext")
        message = plain[20 : 20 + length]
        try:
            receiveid = plain[20 + length :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecryptError("receiveid is not UTF-8") from exc
        if not hmac.compare_digest(receiveid.encode(), self.receiveid.encode()):
            raise ReceiveIdError()
        return Decrypted(plain[:16], message, receiveid)

    def verify_and_decrypt(
        self, msg_signature: str, timestamp: str, nonce: str, encrypt: str
    ) -> Decrypted:
        """Reject on signature before touching the ciphertext, then decrypt."""
        self.verify(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    # -- encryption -------------------------------------------------------------------------

    def encrypt(self, message: bytes | str) -> str:
        if isinstance(message, str):
            message = message.encode("utf-8")
        body = (
            self.random_bytes(16)
            + struct.pack(">I", len(message))
            + message
            + self.receiveid.encode("utf-8")
        )
        enc = self._cipher.encryptor()
        return base64.b64encode(enc.update(_pad(body)) + enc.finalize()).decode("ascii")

    def seal(self, message: bytes | str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt and sign: returns ``(encrypt, msg_signature)``."""
        encrypt = self.encrypt(message)
        return encrypt, signature(self.token, timestamp, nonce, encrypt)
