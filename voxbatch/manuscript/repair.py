"""Broken encodings and ligatures repaired before normalization, with ftfy.

Text that was UTF-8, read as Windows-1252 and saved again (``donâ€™t`` for ``don’t``), Latin ligatures from PDF
text layers (``ﬁ``, ``ﬂ``) and HTML entities left in plain text (``&amp;``) are fixed. Everything else is left to
:mod:`voxbatch.text.normalize`, which owns the text's final form: quotes stay curly, full-width characters stay
full width (CJK punctuation guides the chunker), line breaks, control characters and Unicode normalization are
not touched, so a clean text comes out exactly as it went in.
"""

from __future__ import annotations

import ftfy

_FIXES = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    fix_character_width=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)


def repair_text(text: str) -> str:
    """``text`` with mojibake, ligatures and stray HTML entities repaired (unchanged when there are none)."""
    return ftfy.fix_text(text, _FIXES)
