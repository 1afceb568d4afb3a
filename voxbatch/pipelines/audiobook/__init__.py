"""The audiobook pipeline's plain steps: plan a book, synthesize its chunks, assemble it, summarize it."""
