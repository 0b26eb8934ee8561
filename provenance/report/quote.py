"""Model output is hostile: how a report quotes it.

Everything a model said reaches the report only through :func:`quote`, which
escapes HTML (so ``<img src=file:///etc/passwd>`` is shown as text, never parsed),
makes invisible and direction-changing characters visible as ``[U+XXXX]`` (so a
right-to-left override cannot make a quote read differently from what is stored,
and a NUL byte cannot cut the text), and cuts very long answers with a marked cut
that names the evidence row holding the full text. Jinja's autoescape is on as
well; this is the second lock, and the one that marks what was changed.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

#: Longest quote, in characters, before it is cut (the full text stays in the evidence).
QUOTE_LIMIT = 1500

# C0/C1 controls except tab and newline; zero-width and bidi controls; BOM; lone
# surrogates (JSON can carry them, UTF-8 cannot); interlinear annotation; tag characters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)


def visible_char(char: str) -> str:
    """The marker that stands for one invisible character in a quote."""
    return f"[U+{ord(char):04X}]"


def quote(text: object, *, limit: int = QUOTE_LIMIT, row_id: int | None = None) -> Markup:
    """Escaped, marked HTML for untrusted ``text``; invisible characters shown as ``[U+XXXX]``."""
    text = "" if text is None else str(text)
    cut = len(text) > limit
    shown = text[:limit] if cut else text
    parts: list[str] = []
    position = 0
    for match in _INVISIBLE.finditer(shown):
        parts.append(str(escape(shown[position : match.start()])))
        parts.append(f'<span class="ctl">{visible_char(match.group())}</span>')
        position = match.end()
    parts.append(str(escape(shown[position:])))
    if cut:
        where = f"; the full text is evidence row {row_id}" if row_id is not None else ""
        parts.append(f'<span class="cut">[quote cut at {limit:,} of {len(text):,} characters{where}]</span>')
    return Markup("".join(parts))


def plain(text: object) -> str:
    """``text`` with invisible characters replaced by markers, for attributes and plot labels."""
    return _INVISIBLE.sub(lambda m: visible_char(m.group()), "" if text is None else str(text))
