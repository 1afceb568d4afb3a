"""Manuscript text: normalization for speech (normalize), chapters (chapters) and request-sized chunks (chunking).

The pipeline is ``normalize_text`` -> ``detect_chapters`` -> ``chunk_text``; every offset in a ``Chapter`` or ``Chunk``
points into the normalized text, never into the raw manuscript.
"""
