"""What every payload goes through first: hostile XML is refused, strings are storable."""

from __future__ import annotations

import math

import pytest

from bot.payloads import PayloadError, check_strings, parse_xml


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
