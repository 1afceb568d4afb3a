"""A paragraph's sentences, cut by the chunker's rules, without surrounding spaces."""

from __future__ import annotations

from voxbatch.text.sentences import sentence_splitter


def test_sentences_of_a_paragraph() -> None:
    text = '  "Oh dear! Oh dear! I shall be late!" said Mr. Rabbit. Then he ran.  '
    split = sentence_splitter("en-GB")
    assert [text[a:b] for a, b in split(text)] == [
        '"Oh dear! Oh dear! I shall be late!" said Mr. Rabbit.',
        "Then he ran.",
    ]
    assert split("   ") == [] and [text[a:b] for a, b in sentence_splitter("xx")(text)][-1] == "Then he ran."
