"""A working regex cache for tinyhtml5, WeasyPrint's HTML parser.

tinyhtml5 2.1.0 scans text with `chars_until(characters)`, which looks its
regex up in a module-level cache under `(characters, opposite)` but, on a
miss, stores the new regex under `(regex, opposite)`: every later lookup
misses too, and the regex is built again for each run of text. For the PDF
report that is about 4% of a render (bench/report_instructions.py).

`install()` swaps in a cache that builds a missing entry under the key the
lookup used, so only the first lookup of each character set builds anything.
The parser's own code is unchanged, and if a later tinyhtml5 stores entries
correctly, this cache still behaves the same.
"""

import re

import tinyhtml5.inputstream


class ScanRegexCache(dict):
    """Regexes matching a run of characters (not) in a set, built on demand."""

    def __missing__(self, key: tuple) -> re.Pattern:
        characters, opposite = key
        members = "".join(re.escape(character) for character in characters)
        # `opposite` means "while the characters are in the set".
        regex = self[key] = re.compile(f"[{'' if opposite else '^'}{members}]+")
        return regex


def install() -> None:
    """Give tinyhtml5 a cache that hits (once per process is enough)."""
    if not isinstance(tinyhtml5.inputstream.characters_until_regex, ScanRegexCache):
        tinyhtml5.inputstream.characters_until_regex = ScanRegexCache()
