"""tinyhtml5's scanning regexes are built once, under the key looked up."""

import re

import tinyhtml5
import tinyhtml5.inputstream

from assessment import html_parser_cache

PAGE = (
    '<!doctype html><html><head><title>T</title></head><body><p class="a" '
    "id='b' data-x=c>Text &amp; more<!-- note --><br>ünïcode</p></body></html>"
)


def test_a_missing_regex_matches_up_to_the_characters_or_while_in_them():
    cache = html_parser_cache.ScanRegexCache()
    assert cache[(("<", "&", "\u0000"), False)].match("ab]c<d").group() == "ab]c"
    assert cache[(frozenset(" \t\n"), True)].match(" \t x").group() == " \t "
    assert cache[("]", False)].match("a-^]").group() == "a-^"


def test_parsing_builds_each_regex_once_and_keys_it_by_characters():
    html_parser_cache.install()
    cache = tinyhtml5.inputstream.characters_until_regex
    assert isinstance(cache, html_parser_cache.ScanRegexCache)
    tree = tinyhtml5.parse(PAGE, namespace_html_elements=False)
    entries = len(cache)
    tinyhtml5.parse(PAGE, namespace_html_elements=False)
    assert len(cache) == entries > 0
    assert not any(isinstance(characters, re.Pattern) for characters, _ in cache)
    paragraph = tree.find(".//p")
    assert paragraph.get("class") == "a" and paragraph.get("data-x") == "c"
    assert paragraph.text == "Text & more"
    assert paragraph.find("br").tail == "ünïcode"


def test_install_keeps_the_cache_it_installed():
    html_parser_cache.install()
    cache = tinyhtml5.inputstream.characters_until_regex
    html_parser_cache.install()
    assert tinyhtml5.inputstream.characters_until_regex is cache
