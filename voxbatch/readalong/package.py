"""The read-along EPUB's package document (OPF) and ``META-INF/container.xml``.

The OPF carries what EPUB 3 requires (identifier, title, language, ``dcterms:modified``), the manifest (each page
with its ``media-overlay``, the nav document, the stylesheet, the audio, the cover as ``cover-image``), the spine
(the chapter pages in order) and what Media Overlays require: ``media:duration`` of every overlay (``refines``) and
of the whole book, and ``media:active-class`` (plus ``media:narrator`` when known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from voxbatch.readalong.clips import clock

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
OPF_PATH = "OEBPS/content.opf"
OPF_MEDIA_TYPE = "application/oebps-package+xml"
EPUB_MIMETYPE = "application/epub+zip"
IDENTIFIER_ID = "book-id"
CONTAINER_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="{OPF_PATH}" media-type="{OPF_MEDIA_TYPE}"/>
  </rootfiles>
</container>
""".encode()


@dataclass(frozen=True)
class PackageItem:
    """One manifest entry; ``href`` is relative to the OPF."""

    id: str
    href: str
    media_type: str
    properties: str | None = None
    overlay: str | None = None  # the id of its Media Overlay


@dataclass(frozen=True)
class PackageMeta:
    """The publication's metadata."""

    identifier: str
    title: str
    language: str
    modified: datetime  # UTC
    author: str | None = None
    narrator: str | None = None
    active_class: str = "-epub-media-overlay-active"


def _meta(metadata: etree._Element, prop: str, value: str, refines: str | None = None) -> None:
    element = etree.SubElement(metadata, f"{{{OPF_NS}}}meta", property=prop)
    if refines is not None:
        element.set("refines", refines)
    element.text = value


def package_document(
    meta: PackageMeta, items: Sequence[PackageItem], spine: Sequence[str], durations_ms: Mapping[str, int]
) -> bytes:
    """The OPF; ``spine`` lists item ids in reading order, ``durations_ms`` each overlay's duration by its id."""
    root = etree.Element(
        f"{{{OPF_NS}}}package",
        nsmap={None: OPF_NS},
        version="3.0",
        attrib={"unique-identifier": IDENTIFIER_ID},
    )
    root.set(XML_LANG, meta.language)
    metadata = etree.SubElement(root, f"{{{OPF_NS}}}metadata", nsmap={"dc": DC_NS})
    etree.SubElement(metadata, f"{{{DC_NS}}}identifier", id=IDENTIFIER_ID).text = meta.identifier
    etree.SubElement(metadata, f"{{{DC_NS}}}title").text = meta.title
    etree.SubElement(metadata, f"{{{DC_NS}}}language").text = meta.language
    if meta.author:
        etree.SubElement(metadata, f"{{{DC_NS}}}creator").text = meta.author
    _meta(metadata, "dcterms:modified", meta.modified.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for overlay_id, duration_ms in durations_ms.items():
        _meta(metadata, "media:duration", clock(duration_ms), refines=f"#{overlay_id}")
    _meta(metadata, "media:duration", clock(sum(durations_ms.values())))
    if meta.narrator:
        _meta(metadata, "media:narrator", meta.narrator)
    _meta(metadata, "media:active-class", meta.active_class)
    manifest = etree.SubElement(root, f"{{{OPF_NS}}}manifest")
    for item in items:
        entry = etree.SubElement(manifest, f"{{{OPF_NS}}}item", id=item.id, href=item.href)
        entry.set("media-type", item.media_type)
        if item.properties:
            entry.set("properties", item.properties)
        if item.overlay:
            entry.set("media-overlay", item.overlay)
    spine_element = etree.SubElement(root, f"{{{OPF_NS}}}spine")
    for idref in spine:
        etree.SubElement(spine_element, f"{{{OPF_NS}}}itemref", idref=idref)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
