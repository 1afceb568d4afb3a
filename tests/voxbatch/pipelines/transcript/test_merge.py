"""Merging chunk transcripts: offsets, renumbering, overlap splicing with and without words, speakers, text."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from voxbatch.client.results import CallInfo, Segment, SpeakerSegment, Transcript, WordTime
from voxbatch.pipelines.transcript.merge import ChunkTranscript, MergedTranscript, merge_chunks
from voxbatch.pipelines.transcript.spans import ANALYSIS_RATE_HZ, ChunkSpan

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs!",
    "How vexingly quick daft zebras jump.",
    "Sphinx of black quartz, judge my vow.",
    "Jackdaws love my big sphinx of quartz.",
    "The five boxing wizards jump quickly.",
)
WORD_STEP_S = 0.5  # one word every half second
WORD_LENGTH_S = 0.4
SENTENCE_PAUSE_S = 0.3


@dataclass(frozen=True)
class SpokenWord:
    """A word of the synthetic recording: as written in a segment, as a provider's word list has it, and when."""

    token: str
    word: str
    start_s: float
    end_s: float
    sentence: int


def recording() -> list[SpokenWord]:
    spoken: list[SpokenWord] = []
    t = 0.0
    for sentence, text in enumerate(SENTENCES):
        for token in text.split():
            spoken.append(SpokenWord(token, re.sub(r"[^\w]", "", token).lower(), t, t + WORD_LENGTH_S, sentence))
            t += WORD_STEP_S
        t += SENTENCE_PAUSE_S
    return spoken


FULL_TEXT = " ".join(SENTENCES)
SPOKEN = recording()


def info(request_id: str | None = None) -> CallInfo:
    return CallInfo(
        attempts=1,
        retry_wait_s=0.0,
        request_id=request_id,
        http_status=200,
        ttfb_s=0.1,
        latency_s=0.2,
        transport="rest",
    )


def make_transcript(
    *,
    text: str = "",
    segments: tuple[Segment, ...] = (),
    words: tuple[WordTime, ...] = (),
    speaker_segments: tuple[SpeakerSegment, ...] = (),
    language: str | None = "english",
    task: str | None = "transcribe",
    request_id: str | None = None,
) -> Transcript:
    return Transcript(
        text=text,
        task=task,
        language=language,
        duration_s=None,
        segments=segments,
        words=words,
        speaker_segments=speaker_segments,
        model="openai/whisper-large-v3",
        info=info(request_id),
    )


def span(index: int, start_s: float, end_s: float, overlap_s: float = 0.0) -> ChunkSpan:
    return ChunkSpan(
        index, round(start_s * ANALYSIS_RATE_HZ), round(end_s * ANALYSIS_RATE_HZ), round(overlap_s * ANALYSIS_RATE_HZ)
    )


def cut(
    index: int,
    start_s: float,
    end_s: float,
    overlap_s: float = 0.0,
    *,
    shift_s: float = 0.0,
    heard: Mapping[str, str] | None = None,
    with_words: bool = True,
    speakers: Mapping[int, str] | None = None,
) -> ChunkTranscript:
    """What a provider returns for ``[start_s, end_s)`` of :data:`SPOKEN`: the words centred in it, one segment
    per (part of a) sentence, times relative to the chunk start plus ``shift_s``; ``heard`` misrecognizes words,
    ``speakers`` labels sentences (diarized answers carry speaker segments and labelled words)."""
    heard = heard or {}
    inside = [w for w in SPOKEN if start_s <= (w.start_s + w.end_s) / 2 < end_s]
    offset = shift_s - start_s

    def word_time(w: SpokenWord) -> WordTime:
        speaker = speakers[w.sentence] if speakers else None
        return WordTime(heard.get(w.word, w.word), w.start_s + offset, w.end_s + offset, speaker)

    segments: list[Segment] = []
    speaker_segments: list[SpeakerSegment] = []
    for sentence, group in itertools.groupby(inside, key=lambda w: w.sentence):
        members = list(group)
        text = " ".join(heard.get(w.word, w.token) for w in members)
        start, end = members[0].start_s + offset, members[-1].end_s + offset
        segments.append(Segment(100 + len(segments), start, end, text))
        if speakers:
            speaker_segments.append(
                SpeakerSegment(
                    len(speaker_segments), speakers[sentence], start, end, text, tuple(word_time(w) for w in members)
                )
            )
    return ChunkTranscript(
        span(index, start_s, end_s, overlap_s),
        make_transcript(
            text=" ".join(s.text for s in segments),
            segments=tuple(segments),
            words=tuple(word_time(w) for w in inside) if with_words else (),
            speaker_segments=tuple(speaker_segments),
            request_id=f"req-{index}",
        ),
    )


def assert_timeline(merged: MergedTranscript) -> None:
    """Ids count from 0; times never negative; starts never go back."""
    assert [s.id for s in merged.segments] == list(range(len(merged.segments)))
    assert [s.id for s in merged.speaker_segments] == list(range(len(merged.speaker_segments)))
    for items in (merged.words, merged.segments, merged.speaker_segments):
        starts = [item.start_s for item in items]
        assert all(s >= 0 for s in starts)
        assert starts == sorted(starts)
        assert all(item.end_s >= item.start_s for item in items)


def plain_words(merged: MergedTranscript) -> list[str]:
    return [w.word for w in merged.words]


def test_three_chunks_cut_in_silences_are_offset_and_renumbered() -> None:
    boundaries = [0.0, 8.9, 16.0, 30.0]  # in the pauses after sentences 2 and 4
    parts = [cut(k, a, b) for k, (a, b) in enumerate(itertools.pairwise(boundaries))]
    merged = merge_chunks(list(reversed(parts)), duration_s=30.0)  # input order does not matter
    assert_timeline(merged)
    assert merged.text == FULL_TEXT
    assert plain_words(merged) == [w.word for w in SPOKEN]
    for got, want in zip(merged.words, SPOKEN, strict=True):
        assert got.start_s == pytest.approx(want.start_s) and got.end_s == pytest.approx(want.end_s)
    assert [s.text for s in merged.segments] == list(SENTENCES)
    assert merged.segments[2].start_s == pytest.approx(SPOKEN[17].start_s)  # sentence 3 opens chunk 1
    assert (merged.language, merged.task, merged.duration_s) == ("english", "transcribe", 30.0)
    assert [(c.index, c.seam, c.words_dropped, c.segments_dropped) for c in merged.chunks] == [
        (0, "start", 0, 0),
        (1, "silence", 0, 0),
        (2, "silence", 0, 0),
    ]
    assert [c.request_id for c in merged.chunks] == ["req-0", "req-1", "req-2"]
    assert sum(c.words for c in merged.chunks) == len(SPOKEN)
    assert merged.speakers == () and not merged.diarized


def test_single_chunk_passes_through_with_ids_renumbered() -> None:
    part = cut(0, 0.0, 40.0)
    merged = merge_chunks([part], duration_s=40.0)
    assert merged.words == part.transcript.words
    assert [(s.start_s, s.end_s, s.text) for s in merged.segments] == [
        (s.start_s, s.end_s, s.text) for s in part.transcript.segments
    ]
    assert [s.id for s in part.transcript.segments][:2] == [100, 101]
    assert [s.id for s in merged.segments] == list(range(len(SENTENCES)))
    assert merged.text == part.transcript.text == FULL_TEXT
    assert merged.chunks[0].seam == "start" and merged.chunks[0].splice_s is None


# Hard cut at 10.0 s with 1 s of overlap: the second chunk starts at 9.0 s; "how" and "vexingly" are in both.
HARD_CUT_S = 10.0
OVERLAP_S = 1.0


def hard_cut_pair(**second: object) -> list[ChunkTranscript]:
    return [cut(0, 0.0, HARD_CUT_S), cut(1, HARD_CUT_S - OVERLAP_S, 40.0, OVERLAP_S, **second)]  # type: ignore[arg-type]


def test_overlap_with_identical_words_is_spliced_once() -> None:
    merged = merge_chunks(hard_cut_pair(), duration_s=40.0)
    assert_timeline(merged)
    assert plain_words(merged) == [w.word for w in SPOKEN]
    assert merged.text == FULL_TEXT  # the sentence across the cut keeps its punctuation and loses no word
    second = merged.chunks[1]
    assert second.seam == "words"
    assert second.splice_s is not None and HARD_CUT_S - OVERLAP_S < second.splice_s < HARD_CUT_S
    assert merged.chunks[0].words_dropped + second.words_dropped == 2  # the overlap held two words
    # The sentence across the cut becomes two segments that meet at the splice word ("how").
    assert len(merged.segments) == len(SENTENCES) + 1
    assert (merged.segments[2].text, merged.segments[3].text) == ("How", "vexingly quick daft zebras jump.")
    assert merged.segments[2].end_s <= merged.segments[3].start_s


def test_three_chunks_with_two_hard_cuts() -> None:
    # The middle chunk loses words at both ends; each chunk's times drift a little differently.
    parts = [
        cut(0, 0.0, HARD_CUT_S),
        cut(1, HARD_CUT_S - OVERLAP_S, 16.6, OVERLAP_S, shift_s=0.1),
        cut(2, 16.6 - OVERLAP_S, 40.0, OVERLAP_S, shift_s=-0.1),
    ]
    merged = merge_chunks(parts, duration_s=40.0)
    assert_timeline(merged)
    assert plain_words(merged) == [w.word for w in SPOKEN]
    assert merged.text == FULL_TEXT
    assert [c.seam for c in merged.chunks] == ["start", "words", "words"]
    assert sum(c.words for c in merged.chunks) == len(SPOKEN)
    assert sum(c.words_dropped for c in merged.chunks) == 4  # two words in each overlap


def test_overlap_with_shifted_times_still_aligns() -> None:
    for shift_s in (0.15, -0.3):
        merged = merge_chunks(hard_cut_pair(shift_s=shift_s), duration_s=40.0)
        assert_timeline(merged)
        assert plain_words(merged) == [w.word for w in SPOKEN]
        assert merged.text == FULL_TEXT
        assert merged.chunks[1].seam == "words"


def test_inverted_times_at_the_seam_are_clamped() -> None:
    merged = merge_chunks(hard_cut_pair(shift_s=-0.6), duration_s=40.0)
    assert_timeline(merged)  # the later chunk's first kept word is heard before the splice word: clamped
    assert plain_words(merged) == [w.word for w in SPOKEN]


def test_recognition_difference_inside_the_overlap() -> None:
    # The later chunk mishears the first overlap word; the rest of the overlap matches and is spliced once.
    in_overlap = [w.word for w in SPOKEN if HARD_CUT_S - OVERLAP_S <= w.start_s < HARD_CUT_S]
    assert in_overlap == ["how", "vexingly"]
    merged = merge_chunks(hard_cut_pair(heard={"how": "who"}), duration_s=40.0)
    assert_timeline(merged)
    assert plain_words(merged) == [w.word for w in SPOKEN]  # the earlier chunk's copy wins
    assert merged.chunks[1].seam == "words"
    assert merged.text == FULL_TEXT


def test_overlap_without_common_words_splices_at_its_middle() -> None:
    heard = {"how": "who", "vexingly": "vexing"}
    merged = merge_chunks(hard_cut_pair(heard=heard), duration_s=40.0)
    assert_timeline(merged)
    second = merged.chunks[1]
    assert second.seam == "time" and second.splice_s == pytest.approx(HARD_CUT_S - OVERLAP_S / 2)
    # Before the middle (9.5 s) from the earlier chunk, at and after it from the later one; nothing twice.
    want = [heard.get(w.word, w.word) if w.start_s >= 9.5 else w.word for w in SPOKEN]
    assert plain_words(merged) == want
    assert "jugs! How vexing quick" in merged.text and "who" not in merged.text.lower()


@pytest.mark.parametrize(
    ("cut_s", "segments"),
    [
        (10.0, len(SENTENCES)),  # the earlier chunk's "How vexingly" is centred after the seam: dropped
        (10.6, len(SENTENCES) + 1),  # "How vexingly quick" is kept, so the later "vexingly quick" is dropped
    ],
)
def test_no_words_splices_segments_at_the_middle_and_drops_the_repeated_text(cut_s: float, segments: int) -> None:
    start_s = cut_s - OVERLAP_S
    parts = [cut(0, 0.0, cut_s, with_words=False), cut(1, start_s, 40.0, OVERLAP_S, with_words=False)]
    merged = merge_chunks(parts, duration_s=40.0)
    assert_timeline(merged)
    assert merged.words == ()
    assert merged.text == FULL_TEXT
    assert merged.chunks[1].seam == "time"
    assert len(merged.segments) == segments
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(merged.segments))


def test_text_only_chunks_join_cleanly() -> None:
    parts = [
        ChunkTranscript(span(0, 0.0, 5.0), make_transcript(text="  Hello   there. ", language=None, task=None)),
        ChunkTranscript(span(1, 5.0, 10.0), make_transcript(text="General Kenobi.\n", language="english")),
        ChunkTranscript(span(2, 9.0, 15.0, 1.0), make_transcript(text="Kenobi. You are a bold one.")),
    ]
    merged = merge_chunks(parts, duration_s=15.0)
    assert merged.text == "Hello there. General Kenobi. You are a bold one."
    assert merged.language == "english" and merged.task == "transcribe"
    assert merged.segments == () and merged.words == ()


def test_speaker_labels_are_kept() -> None:
    first = {0: "SPEAKER_00", 1: "SPEAKER_01", 2: "SPEAKER_00"}
    second = {2: "SPEAKER_01", 3: "SPEAKER_00", 4: "SPEAKER_01", 5: "SPEAKER_00"}  # labels are per chunk
    parts = [cut(0, 0.0, HARD_CUT_S, speakers=first), cut(1, 9.0, 40.0, OVERLAP_S, speakers=second)]
    merged = merge_chunks(parts, duration_s=40.0)
    assert_timeline(merged)
    assert merged.diarized and merged.speakers == ("SPEAKER_00", "SPEAKER_01")
    labels = [s.speaker_id for s in merged.speaker_segments]
    assert labels == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00", "SPEAKER_01", "SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]
    assert " ".join(s.text for s in merged.speaker_segments) == FULL_TEXT
    assert [w.word for s in merged.speaker_segments for w in s.words] == [w.word for w in SPOKEN]
    assert {w.speaker_id for w in merged.words} == {"SPEAKER_00", "SPEAKER_01"}
    assert merged.speaker_at(0.0, 2.0) == "SPEAKER_00"
    assert merged.speaker_at(5.0, 6.0) == "SPEAKER_01"


def test_speaker_segments_without_a_flat_word_list() -> None:
    speakers = dict.fromkeys(range(len(SENTENCES)), "SPEAKER_00")
    parts = [cut(0, 0.0, HARD_CUT_S, speakers=speakers), cut(1, 9.0, 40.0, OVERLAP_S, speakers=speakers)]
    stripped = [
        ChunkTranscript(
            p.span,
            make_transcript(text=p.transcript.text, speaker_segments=p.transcript.speaker_segments),
        )
        for p in parts
    ]
    merged = merge_chunks(stripped, duration_s=40.0)
    assert plain_words(merged) == [w.word for w in SPOKEN]
    assert merged.chunks[1].seam == "words"
    assert " ".join(s.text for s in merged.speaker_segments) == FULL_TEXT
    assert merged.text == FULL_TEXT  # no segments: the chunks' texts, each trimmed to its kept words


def test_negative_provider_times_are_clamped() -> None:
    words = (WordTime("hello", -0.05, 0.3), WordTime("world", 0.4, 0.8))
    part = ChunkTranscript(
        span(0, 0.0, 1.0),
        make_transcript(text="Hello world.", segments=(Segment(0, -0.05, 0.8, "Hello world."),), words=words),
    )
    merged = merge_chunks([part], duration_s=1.0)
    assert merged.words[0].start_s == 0.0 and merged.segments[0].start_s == 0.0


def test_missing_chunk_is_a_gap_and_duplicate_indices_are_refused() -> None:
    parts = [cut(0, 0.0, 8.9), cut(2, 16.0, 40.0)]
    merged = merge_chunks(parts, duration_s=40.0)
    assert [c.seam for c in merged.chunks] == ["start", "gap"]
    with pytest.raises(ValueError, match="distinct"):
        merge_chunks([cut(0, 0.0, 8.9), cut(0, 8.9, 40.0)], duration_s=40.0)
    empty = merge_chunks([], duration_s=0.0)
    assert empty.text == "" and empty.chunks == ()
