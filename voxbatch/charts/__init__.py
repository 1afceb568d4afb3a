"""Charts as PNG files and markdown: the ledger over time (spend, latency, failures) and a book's loudness.

Each chart is drawn from a plain data structure (:class:`voxbatch.ledger.trends.LedgerTrends`,
:class:`voxbatch.audio.loudness_series.LoudnessSeries`) by matplotlib's object API on the Agg canvas; matplotlib is
imported only when a chart is drawn, so commands and runs that draw none never load it.
"""
