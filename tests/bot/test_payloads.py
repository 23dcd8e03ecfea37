"""What every payload goes through first: hostile XML is refused, strings are storable, and
the flat-document fast path reads exactly what expat reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.crypto import WeComCrypto
from bot.payloads import PayloadError, _parse_expat, _parse_flat, check_strings, parse_xml

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "wecom" / "vectors.json"


@pytest.mark.parametrize("xml", [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    '<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml/>',
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    '<xml>&lol2;</xml>',
])
def test_dtd_and_entities_are_refused(xml):
    with pytest.raises(PayloadError):
        parse_xml(xml)


@pytest.mark.parametrize("xml", ["<xml><a></xml>", "not xml", "<root/>", ""])
def test_malformed_xml_is_refused(xml):
    with pytest.raises(PayloadError):
        parse_xml(xml)


def _official_post() -> tuple[str, str]:
    """WeCom's own sample callback [doc 91144] (vectors.json B): its envelope and message."""
    v = next(v for v in json.loads(VECTORS.read_text()) if v["kind"] == "post_xml")
    crypto = WeComCrypto(v["token"], v["encoding_aes_key"], v["receiveid"])
    return v["post_body"], crypto.decrypt(v["encrypt"]).text


def test_wecom_documents_take_the_fast_path_and_read_as_expat_reads_them():
    envelope, message = _official_post()
    assert "\n<FromUserName>" in message  # WeCom's line breaks between elements
    for doc in (envelope, envelope.encode(), message,
                "<xml><Content><![CDATA[  3号店咖啡机坏了 ]]></Content><MsgId>1</MsgId>"
                "<Empty><![CDATA[]]></Empty><Blank>  </Blank><Item>a</Item><Item>b</Item>"
                "<Item>c</Item></xml>\n"):
        flat = _parse_flat(doc)
        assert flat is not None and flat == _parse_expat(doc)
    assert parse_xml(message)["Content"] == "hello"  # the sample's text message
    assert parse_xml(message)["MsgType"] == "text"


# Pieces of documents, chosen to sit on every edge of the fast path: what it refuses to read
# (entities, "]]>", "\r", characters XML refuses, nesting, attributes, namespaces, empty
# elements, a declaration, a BOM) must go to expat, and what it reads must read the same.
# Plain pieces repeat so that about half the documents are flat ones the fast path reads.
def _weighted(plain: list[str], edges: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(plain * 8 + edges)


_TEXTS = st.lists(st.sampled_from(["a", "中", " ", "\t", "\n", ">", "\x7f", "\u3000"] * 2 + [
                    "\r", "]", "]]>", "<", "&", "&amp;", "&#13;", "\x01", "\x1c", "\ufffe",
                    "\ud800", "<![CDATA["]), max_size=6).map("".join)
_TAGS = _weighted(["Content", "MsgId", "a", "A_1", "x.y", "x-y", "xml"], ["b:c", "é", "1a"])


@st.composite
def _leaf(draw) -> str:
    tag, text, other = draw(_TAGS), draw(_TEXTS), draw(_TAGS)
    return draw(_weighted(
        [f"<{tag}>{text}</{tag}>", f"<{tag}><![CDATA[{text}]]></{tag}>"],
        [f"<{tag}/>", f"<{tag}>{text}<![CDATA[{text}]]></{tag}>",
         f"<{tag}><{other}>{text}</{other}></{tag}>", f'<{tag} a="1">{text}</{tag}>',
         f"<{tag}>{text}</{other}>", f"<{tag}>{text}"]))


_DOCS = st.tuples(
    _weighted(["<xml>"], [" <xml>", "<?xml version='1.0'?><xml>", "<xml >", "\ufeff<xml>",
                          "<XML>", ""]),
    st.lists(st.tuples(_weighted(["", "\n"], [" \r\n\t", "x", "\u3000"]), _leaf()),
             max_size=4),
    _weighted(["</xml>", "</xml>\n", "\n</xml>"], ["</xml>x", "", "</xml><xml>"]),
).map(lambda t: t[0] + "".join(sep + leaf for sep, leaf in t[1]) + t[2])


@pytest.mark.parametrize("doc", [
    "<xml><a>a\rb</a></xml>", "<xml><a><![CDATA[c\r\nd]]></a></xml>",  # expat: "\n"
    "<xml><a>x &amp; y</a></xml>", "<xml><a>]]></a></xml>", "<xml><a>\x01</a></xml>",
    "<xml><a><![CDATA[x]]]]><![CDATA[>]]></a></xml>", "<xml><a/><a>b</a></xml>",
    "<xml><a><b>c</b></a></xml>", "<xml><b:c>d</b:c></xml>", "<xml><a>\ufffe</a></xml>",
])
def test_what_the_fast_path_leaves_reads_as_expat_reads_it(doc):
    assert _parse_flat(doc) is None
    assert _outcome(parse_xml, doc) == _outcome(_parse_expat, doc)


def _outcome(parse, doc: str | bytes) -> object:
    try:
        return parse(doc)
    except PayloadError:
        return PayloadError


@settings(max_examples=1500, deadline=None)
@given(_DOCS, st.booleans())
def test_the_fast_path_reads_only_what_expat_reads_the_same(doc, as_bytes):
    data: str | bytes = doc.encode("utf-8", "surrogatepass") if as_bytes else doc
    flat = _parse_flat(data)
    if flat is not None:
        assert _outcome(_parse_expat, data) == flat
    assert _outcome(parse_xml, data) == _outcome(_parse_expat, data)


@pytest.mark.parametrize("value,reason", [
    ({"a": ["x\u0000"]}, "NUL"),
    ({"\ud800": 1}, "surrogate"),
])
def test_strings_that_no_database_stores_are_refused(value, reason):
    with pytest.raises(PayloadError, match=reason):
        check_strings(value)


def test_numbers_and_nesting_are_checked_on_request():
    """JSON the API client decoded may hold NaN and any depth: checked when asked."""
    check_strings({"x": math.nan, "y": [[[1]]]})
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(PayloadError, match="NaN or Infinity"):
            check_strings({"x": [bad]}, finite=True)
    deep: object = 1
    for _ in range(4):
        deep = [deep]
    check_strings({"x": deep}, max_depth=5)  # the object and four lists
    with pytest.raises(PayloadError, match="nested deeper than 4"):
        check_strings({"x": deep}, max_depth=4)
