"""A chapter's Media Overlay (EPUB 3 SMIL): one ``par`` per clip, pairing the text it highlights with its audio.

Pars sit directly in the ``body``, in reading order (the structure every reading system with overlays plays)::

    <par id="par-c1s2"><text src="chapter-001.xhtml#c1s2"/>
      <audio src="audio/book.m4a" clipBegin="0:00:01.250" clipEnd="0:00:04.020"/></par>
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from voxbatch.readalong.clips import Clip, clock

SMIL_NS = "http://www.w3.org/ns/SMIL"
EPUB_NS = "http://www.idpf.org/2007/ops"
SMIL_VERSION = "3.0"


def overlay(page_href: str, audio_href: str, clips: Sequence[Clip]) -> bytes:
    """The SMIL of one page; hrefs are relative to the SMIL file (which sits beside its page)."""
    root = etree.Element(f"{{{SMIL_NS}}}smil", nsmap={None: SMIL_NS, "epub": EPUB_NS}, version=SMIL_VERSION)
    body = etree.SubElement(root, f"{{{SMIL_NS}}}body")
    for clip in clips:
        par = etree.SubElement(body, f"{{{SMIL_NS}}}par", id=f"par-{clip.target}")
        etree.SubElement(par, f"{{{SMIL_NS}}}text", src=f"{page_href}#{clip.target}")
        etree.SubElement(
            par,
            f"{{{SMIL_NS}}}audio",
            src=audio_href,
            clipBegin=clock(clip.begin_ms),
            clipEnd=clock(clip.end_ms),
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
