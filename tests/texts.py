"""Asserting what a person reads by catalogue key, not by English fragments.

`shows(catalog, lang, key, content, **params)`: whether `content` holds the message `key`.
With every placeholder given it looks for the whole text; placeholders left out (a count
or name the test does not know) are skipped, and every literal piece between them must be
there, in order.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Any

from bot.i18n import Catalog

_FORMATTER = string.Formatter()


def pieces(catalog: Catalog, lang: str, key: str, /, **params: Any) -> list[str]:
    """The text of `key` cut at every placeholder not given in `params`."""
    count = params.get("count")
    template = catalog.template(lang, key, count=count if isinstance(count, int) else None)
    assert template is not None, f"no message {key!r}"
    parts: list[str] = [""]
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        parts[-1] += literal
        if field is None:
            continue
        if field in params:
            value = params[field]
            if conversion:
                value = _FORMATTER.convert_field(value, conversion)
            parts[-1] += _FORMATTER.format_field(value, spec or "")
        else:
            parts.append("")
    return [p for p in parts if p.strip()]


def shows(catalog: Catalog, lang: str, key: str, content: str, /, **params: Any) -> bool:
    pattern = ".*?".join(re.escape(p) for p in pieces(catalog, lang, key, **params))
    return re.search(pattern, content, flags=re.S) is not None


@functools.cache
def _catalog() -> Catalog:
    return Catalog.load()


def says(key: str, content: str, /, lang: str = "en", **params: Any) -> bool:
    """`shows` with the shipped catalogue (most end-to-end servers are set to English)."""
    return shows(_catalog(), lang, key, content, **params)


def part(key: str, lang: str = "en") -> str:
    """The longest literal piece of `key` (for counting repeated lines)."""
    return max(pieces(_catalog(), lang, key), key=len)
