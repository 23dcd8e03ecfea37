"""The crypto module against WeCom's official vectors A and B and the derived AI-bot vector F."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bot.crypto import (DecryptError, ReceiveIdError, SignatureError, WeComCrypto,
                        aes_key_from_encoding_key, signature)
from tests.conftest import ROOT, vector


def crypto_for(v: dict, random16: str | None = None) -> WeComCrypto:
    rnd = (lambda n: random16.encode()[:n]) if random16 else __import__("os").urandom
    return WeComCrypto(v["token"], v["encoding_aes_key"], v["receiveid"], random_bytes=rnd)


def test_vectors_copy_is_current():
    shared = ROOT.parent / "shared" / "wecom" / "vectors.json"
    if not shared.exists():
        pytest.skip("no ../shared beside this clone; the in-repo copy is used")
    assert json.loads(shared.read_text()) == json.loads(
        (ROOT / "tests" / "data" / "wecom_vectors.json").read_text())


def test_vector_a_url_verify_signature_and_plaintext():
    v = vector("A_official_url_verify_QDG6eK")
    c = crypto_for(v)
    assert signature(v["token"], v["timestamp"], v["nonce"], v["echostr"]) == v["msg_signature"]
    d = c.verify_and_decrypt(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])
    assert d.text == v["expected_decryption"]["msg"]
    assert d.receiveid == v["receiveid"]
    assert d.random16 == v["expected_decryption"]["random16"].encode()


def test_vector_b_message_sort_string_and_decryption():
    v = vector("B_official_post_xml_QDG6eK")
    assert "".join(sorted([v["token"], v["timestamp"], v["nonce"], v["encrypt"]])) == \
        v["official_sort_str"]
    d = crypto_for(v).verify_and_decrypt(v["msg_signature"], v["timestamp"], v["nonce"],
                                         v["encrypt"])
    assert d.text == v["expected_decryption"]["msg"]
    assert len(d.message) == v["expected_decryption"]["msg_len"]


def test_vector_b_pad_30_needs_32_byte_blocks():
    """Vector B's plaintext pads with 30 bytes: a 16-byte unpadder would reject it."""
    v = vector("B_official_post_xml_QDG6eK")
    exp = v["expected_decryption"]
    body_len = 16 + 4 + exp["msg_len"] + len(v["receiveid"])
    assert 32 - body_len % 32 == exp["pad"] == 30


@pytest.mark.parametrize("vid", ["B_official_post_xml_QDG6eK",
                                 "F_derived_aibot_json_empty_receiveid"])
def test_encryption_reproduces_ciphertext_byte_for_byte(vid):
    v = vector(vid)
    exp = v["expected_decryption"]
    c = crypto_for(v, exp["random16"])
    enc, sig = c.seal(exp["msg"], v["timestamp"], v["nonce"])
    assert enc == v["encrypt"]
    assert sig == v["msg_signature"]


def test_vector_f_aibot_empty_receiveid():
    v = vector("F_derived_aibot_json_empty_receiveid")
    d = crypto_for(v).verify_and_decrypt(v["msg_signature"], v["timestamp"], v["nonce"],
                                         v["encrypt"])
    assert json.loads(d.text)["msgid"] == "TESTMSGID1"
    assert d.receiveid == ""


def test_forged_signature_is_rejected_before_decrypting():
    v = vector("B_official_post_xml_QDG6eK")
    c = crypto_for(v)
    forged = "0" * 40
    with pytest.raises(SignatureError):
        c.verify_and_decrypt(forged, v["timestamp"], v["nonce"], v["encrypt"])
    with pytest.raises(SignatureError):  # any change to the signed parts breaks it
        c.verify_and_decrypt(v["msg_signature"], v["timestamp"], "1", v["encrypt"])


def test_wrong_receiveid_is_rejected():
    v = vector("B_official_post_xml_QDG6eK")
    other = WeComCrypto(v["token"], v["encoding_aes_key"], "ww-someone-else")
    with pytest.raises(ReceiveIdError):
        other.decrypt(v["encrypt"])
    aibot = WeComCrypto(v["token"], v["encoding_aes_key"], "")  # the AI bot path expects ""
    with pytest.raises(ReceiveIdError):
        aibot.decrypt(v["encrypt"])


@pytest.mark.parametrize("bad", ["not base64!!", base64.b64encode(b"x" * 15).decode(), ""])
def test_garbage_ciphertext_is_a_decrypt_error(bad):
    v = vector("B_official_post_xml_QDG6eK")
    with pytest.raises(DecryptError):
        crypto_for(v).decrypt(bad)


def test_round_trip_unicode_and_wechatpy_agrees():
    """Our ciphertext decrypts with wechatpy's implementation and vice versa."""
    from wechatpy.crypto import WeChatCrypto as WechatpyCrypto

    v = vector("B_official_post_xml_QDG6eK")
    ours = crypto_for(v)
    xml = "<xml><Content><![CDATA[3号店咖啡机坏了 ☕]]></Content></xml>"
    enc, sig = ours.seal(xml, "1409659813", "42")
    theirs = WechatpyCrypto(v["token"], v["encoding_aes_key"], v["receiveid"])
    outer = f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    assert theirs.decrypt_message(outer, sig, "1409659813", "42") == xml
    assert ours.decrypt(enc).text == xml


@pytest.mark.parametrize("key", ["short", "!" * 43, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2"])
def test_bad_encoding_aes_key_is_refused(key):
    with pytest.raises(ValueError):
        aes_key_from_encoding_key(key)


def test_repr_hides_secrets():
    v = vector("B_official_post_xml_QDG6eK")
    assert v["token"] not in repr(crypto_for(v))
    assert v["encoding_aes_key"] not in repr(crypto_for(v))
