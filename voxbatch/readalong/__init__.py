"""Read-along EPUBs: a finished book's text with EPUB 3 Media Overlays that highlight it as the audio plays.

The map: :mod:`.timing` reads the book's ``words.json`` and ``chapters.json``; :mod:`.align` places the timed words
in each chunk's text; :mod:`.layout` cuts the text into headings, paragraphs, sentences and words; :mod:`.clips`
gives each sentence (or word) its audio clip; :mod:`.pages`, :mod:`.overlay` and :mod:`.package` write the XHTML,
SMIL and OPF; :mod:`.epub` puts it all, with the audio, into ``<id>.readalong.epub``; :mod:`.validate` checks
the result's structure. No Prefect here: the audiobook pipeline calls
:func:`~voxbatch.readalong.epub.write_readalong_epub` (:mod:`voxbatch.pipelines.audiobook.readalong`).
"""
