"""Manuscripts as authors have them (EPUB, DOCX, PDF, HTML, plain text, Markdown), read into chapters of plain text.

:func:`voxbatch.manuscript.reader.read_manuscript` recognises a file by its bytes (:mod:`.sniff`), reads it with
the module for its format, repairs broken encodings (:mod:`.repair`) and returns a
:class:`~voxbatch.manuscript.book.Manuscript`; :func:`voxbatch.manuscript.render.render_manuscript` turns that into
the text the chunker already reads (Markdown with one ``#`` heading per chapter).
"""
