"""Word times in the finished book: every chunk's words where its audio really is, after the lead-in, every pause
and every chapter gap (found in the decoded book), and captions cut by the transcript flow's rules."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio.ffmpeg import decode_to_pcm
from voxbatch.audio.pcm import encode
from voxbatch.cache import CachedChunk, ChunkCache
from voxbatch.client.fake_transport import FAKE_CHARS_PER_S, spread_words, tone
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.assemble import BookOutputs, assemble_book
from voxbatch.pipelines.audiobook.plan import BookPlan, plan_book
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome
from voxbatch.pipelines.audiobook.timing import voiced_span

RATE_HZ = 24000
EDGE_S = 0.15  # silence at each end of every chunk's audio, as real speech has
FRAME_S = 0.005
TOLERANCE_S = 0.05
SENTENCES = [
    "The lamp showed a staircase, and Anna climbed it slowly, one step at a time, holding the rail.",
    "Halfway up she stopped, because she thought she had heard a voice somewhere above her in the dark.",
    "It was only the wind in the chimney, so she went on, counting the steps under her breath.",
]
BOOK = (
    "# The Beginning\n\n"
    + " ".join(SENTENCES)
    + "\n\n"
    + " ".join(reversed(SENTENCES))
    + "\n\n# The Middle\n\n"
    + " ".join(SENTENCES[:2])
    + "\n\n# The End\n\n"
    + SENTENCES[2]
    + "\n"
)
ROW = BookRow(2, "book", BOOK, True, "Book", None, "hexgrad/Kokoro-82M", "af_heart", None, "wav", None)


def _chunk_audio(cache: ChunkCache, key: str, text: str, *, with_words: bool) -> CachedChunk:
    """Silence, a tone as long as the text takes to read, silence; with the words spread over the tone."""
    speech_s = len(text) / FAKE_CHARS_PER_S
    silence = np.zeros(round(EDGE_S * RATE_HZ), dtype=np.int16)
    samples = np.concatenate([silence, tone(speech_s, RATE_HZ), silence])
    words = tuple((w.word, EDGE_S + w.start_s, EDGE_S + w.end_s) for w in spread_words(text, speech_s))
    return cache.put(
        key,
        encode(samples, "pcm_s16le"),
        sample_rate_hz=RATE_HZ,
        encoding="pcm_s16le",
        duration_s=len(samples) / RATE_HZ,
        words=words if with_words else (),
    )


def _book(tmp_path: Path, *, with_words: bool, **pauses: float) -> tuple[BookPlan, BookOutputs]:
    row = ROW
    if pauses:
        row = replace(ROW, markup=replace(ROW.markup, pauses=replace(ROW.markup.pauses, **pauses)))
    plan = plan_book(row, "endpoint")
    cache = ChunkCache(tmp_path / "cache")
    outcomes = [
        ChunkOutcome(
            "book", job.chunk.index, _chunk_audio(cache, job.key, job.chunk.spoken, with_words=with_words), False
        )
        for job in plan.jobs
    ]
    built = assemble_book(plan, outcomes, tmp_path / "out")
    return plan, built.outputs


def _voice_runs(path: Path) -> list[tuple[float, float]]:
    """Where the decoded book is loud: (start, end) of each run, in seconds."""
    samples = decode_to_pcm(path.read_bytes(), RATE_HZ).astype(np.float64)
    frame = round(FRAME_S * RATE_HZ)
    n = len(samples) // frame
    loud = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1)) > 300
    edges = np.diff(np.concatenate(([0], loud.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(s * FRAME_S, e * FRAME_S) for s, e in zip(starts, ends, strict=True)]


@pytest.mark.parametrize("with_words", [True, False], ids=["provider-words", "no-words"])
def test_every_chunks_words_are_where_its_voice_is_in_the_finished_book(tmp_path: Path, with_words: bool) -> None:
    plan, outputs = _book(tmp_path, with_words=with_words, chapter_s=1.2, paragraph_s=0.6)
    document = json.loads(outputs.words.read_text(encoding="utf-8"))
    assert document["version"] == 1 and document["audio"] == "book.wav"
    assert [c["index"] for c in document["chunks"]] == [job.chunk.index for job in plan.jobs]
    assert [c["text"] for c in document["chunks"]] == [job.chunk.spoken for job in plan.jobs]
    assert len({c["chapter"] for c in document["chunks"]}) == 3
    runs = _voice_runs(outputs.audio)
    assert len(runs) == len(plan.jobs)  # one run of voice per chunk, between the pauses and gaps
    for chunk, (voice_start_s, voice_end_s) in zip(document["chunks"], runs, strict=True):
        words = [w for w in document["words"] if w["chunk"] == chunk["index"]]
        assert [w["text"] for w in words] == chunk["text"].split()  # the chunk's own words, in order
        assert all(w["chapter"] == chunk["chapter"] for w in words)
        assert abs(words[0]["start_s"] - voice_start_s) <= TOLERANCE_S
        assert abs(words[-1]["end_s"] - voice_end_s) <= TOLERANCE_S
        assert chunk["start_s"] <= words[0]["start_s"] and words[-1]["end_s"] <= chunk["end_s"]
        starts = [w["start_s"] for w in words]
        assert starts == sorted(starts)
    assert document["duration_s"] == pytest.approx(json.loads(outputs.build.read_text())["duration_s"], abs=1e-3)


def _cues(text: str) -> list[tuple[float, float, list[str]]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    out = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        start, end = re.fullmatch(r"(\S+) --> (\S+)", lines[1]).groups()  # type: ignore[union-attr]
        out.append((seconds(start), seconds(end), lines[2:]))
    return out


def test_captions_follow_the_transcript_cue_rules_and_never_cross_a_chapter(tmp_path: Path) -> None:
    plan, outputs = _book(tmp_path, with_words=True)
    cues = _cues(outputs.srt.read_text(encoding="utf-8"))
    assert len(cues) > len(plan.jobs)  # not one cue per chunk
    assert all(1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines) for _, _, lines in cues)
    assert all(end - start <= 7.0 + 1e-3 for start, end, _ in cues)
    for (start, end, _), (next_start, _, _) in itertools.pairwise(cues):
        assert end - start >= 1.0 - 1e-3 or next_start - end <= 0.08 + 1e-3  # shorter only when the next is near
    chapters = json.loads(outputs.chapters.read_text())
    for start, end, _ in cues:
        assert not any(start < c["start"] < end for c in chapters[1:])
    shown = " ".join(word for _, _, lines in cues for line in lines for word in line.split())
    assert shown == " ".join(job.chunk.caption for job in plan.jobs).replace("\n", " ").replace("  ", " ")
    vtt = outputs.vtt.read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n") and vtt.count(" --> ") == len(cues)


def test_the_voiced_span_skips_the_silence_at_a_chunks_edges(tmp_path: Path) -> None:
    chunk = _chunk_audio(ChunkCache(tmp_path), "ab" * 32, "Hello there.", with_words=False)
    start_s, end_s = voiced_span(chunk)
    assert start_s == pytest.approx(EDGE_S, abs=0.01) and end_s == pytest.approx(chunk.duration_s - EDGE_S, abs=0.01)
