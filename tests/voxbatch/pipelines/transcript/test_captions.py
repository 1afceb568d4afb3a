"""Captions, plain text and JSON from a merged transcript: cue limits, timing, formats, speakers."""

from __future__ import annotations

import itertools
import json
import random
import re

import pytest

from voxbatch.client.results import CallInfo, Segment, SpeakerSegment, Transcript, WordTime
from voxbatch.pipelines.transcript.captions import CaptionOptions, Cue, cues, to_json, to_srt, to_text, to_vtt
from voxbatch.pipelines.transcript.merge import ChunkTranscript, MergedTranscript, merge_chunks
from voxbatch.pipelines.transcript.spans import ANALYSIS_RATE_HZ, ChunkSpan

PARAGRAPH = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity. It was the season of Light, it "
    "was the season of Darkness! It was the spring of hope, it was the winter of despair; we had everything "
    "before us, we had nothing before us. Yes. No. Maybe so. We were all going direct to Heaven, we were all "
    "going direct the other way. Supercalifragilisticexpialidociousandthensomemoreletters is a long word."
)
SRT_TIME = r"(\d{2}):(\d{2}):(\d{2}),(\d{3})"
VTT_TIME = r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})"


def merged_from(
    *,
    words: tuple[WordTime, ...] = (),
    segments: tuple[Segment, ...] = (),
    speaker_segments: tuple[SpeakerSegment, ...] = (),
    text: str | None = None,
    duration_s: float | None = None,
) -> MergedTranscript:
    """One unsplit chunk through the merge, as the flow would build it."""
    if text is None:
        text = " ".join(s.text for s in segments) or " ".join(w.word for w in words)
    ends = [w.end_s for w in words] + [s.end_s for s in segments] + [0.0]
    duration = max(ends) + 1.0 if duration_s is None else duration_s
    info = CallInfo(1, 0.0, "req", 200, 0.1, 0.2, "rest")
    transcript = Transcript(text, "transcribe", "english", duration, segments, words, speaker_segments, "whisper", info)
    span = ChunkSpan(0, 0, round(duration * ANALYSIS_RATE_HZ))
    return merge_chunks([ChunkTranscript(span, transcript)], duration)


def spoken(text: str, *, seed: int = 7, start_s: float = 0.0, speaker: str | None = None) -> tuple[WordTime, ...]:
    """Words of ``text`` with lifelike, seeded timing: 0.15-0.6 s each, short gaps, now and then a long pause."""
    rng = random.Random(seed)
    words = []
    t = start_s
    for token in text.split():
        duration = min(0.6, 0.15 + 0.05 * len(token) * rng.random())
        words.append(WordTime(token, t, t + duration, speaker))
        t += duration + (2.0 if rng.random() < 0.05 else rng.uniform(0.02, 0.3))
    return tuple(words)


def cue_words(all_cues: list[Cue]) -> list[str]:
    return [word for c in all_cues for line in c.lines for word in line.split()]


def assert_valid(all_cues: list[Cue], opts: CaptionOptions) -> None:
    """Every layout and timing rule that holds for any transcript."""
    assert [c.index for c in all_cues] == list(range(1, len(all_cues) + 1))
    for c in all_cues:
        assert 1 <= len(c.lines) <= opts.max_lines
        for line in c.lines:
            assert line == line.strip() and "  " not in line
            assert len(line) <= opts.max_line_chars or " " not in line  # only a single long word overflows
        single_word = len(c.lines) == 1 and " " not in c.lines[0]
        assert c.end_s > c.start_s
        assert c.end_s - c.start_s <= opts.max_cue_s + 1e-9 or single_word
    for a, b in itertools.pairwise(all_cues):
        assert a.end_s <= b.start_s


@pytest.mark.parametrize(
    "opts",
    [
        CaptionOptions(),
        CaptionOptions(max_line_chars=20, max_lines=1, max_cue_s=3.0, min_cue_s=0.5),
        CaptionOptions(max_line_chars=32, max_lines=3, max_cue_s=5.0, max_pause_s=0.8),
    ],
)
def test_word_cues_respect_line_and_duration_limits(opts: CaptionOptions) -> None:
    words = spoken(PARAGRAPH)
    merged = merged_from(words=words)
    all_cues = cues(merged, opts)
    assert_valid(all_cues, opts)
    assert cue_words(all_cues) == PARAGRAPH.split()  # every word once, in order, never split
    assert all(c.speaker is None for c in all_cues)
    assert any("Supercalifragilisticexpialidociousandthensomemoreletters" in c.lines for c in all_cues)


def test_lines_are_balanced() -> None:
    text = "This sentence is a little too long to fit on one caption line."
    all_cues = cues(merged_from(words=spoken(text)), CaptionOptions())
    assert len(all_cues) == 1
    first, second = all_cues[0].lines
    assert abs(len(first) - len(second)) <= 12
    assert len(first) <= len(second) + 8  # no long first line over a stub


def test_a_word_longer_than_a_cue_gets_a_cue_of_its_own() -> None:
    words = (WordTime("So", 0.0, 0.3), WordTime("looooong", 0.4, 9.4), WordTime("word.", 9.5, 9.9))
    all_cues = cues(merged_from(words=words), CaptionOptions())
    assert [c.lines for c in all_cues] == [("So",), ("looooong",), ("word.",)]
    assert all_cues[1].end_s - all_cues[1].start_s == pytest.approx(9.0)


def test_sentence_ends_close_full_cues_but_short_sentences_share_one() -> None:
    text = "We were all going direct to Heaven, we were all going. Then we stopped. Yes. No. Maybe."
    words = tuple(WordTime(w, 0.3 * i, 0.3 * i + 0.25) for i, w in enumerate(text.split()))
    all_cues = cues(merged_from(words=words), CaptionOptions())
    assert [" ".join(c.lines) for c in all_cues] == [
        "We were all going direct to Heaven, we were all going.",
        "Then we stopped. Yes. No. Maybe.",
    ]


def test_pauses_and_speaker_changes_start_new_cues() -> None:
    words = (
        WordTime("Hello", 0.0, 0.4, "SPEAKER_00"),
        WordTime("there", 0.5, 0.9, "SPEAKER_00"),
        WordTime("hi", 1.0, 1.3, "SPEAKER_01"),
        WordTime("again", 3.0, 3.4, "SPEAKER_01"),  # after a 1.7 s pause
    )
    all_cues = cues(merged_from(words=words), CaptionOptions())
    assert [(c.lines, c.speaker) for c in all_cues] == [
        (("Hello there",), "SPEAKER_00"),
        (("hi",), "SPEAKER_01"),
        (("again",), "SPEAKER_01"),
    ]


def test_short_cues_are_extended_into_silence_without_touching_the_next() -> None:
    words = (WordTime("Yes.", 1.0, 1.2), WordTime("Fine.", 4.0, 4.3), WordTime("Sure.", 4.9, 5.1))
    opts = CaptionOptions(max_pause_s=0.5)
    all_cues = cues(merged_from(words=words, duration_s=5.5), opts)
    assert_valid(all_cues, opts)
    assert [(c.start_s, c.end_s) for c in all_cues] == [
        (1.0, pytest.approx(2.0)),  # silence after it: the full second
        (4.0, pytest.approx(4.9 - opts.min_gap_s)),  # stops short of the next cue
        (4.9, pytest.approx(5.5)),  # the recording ends
    ]


def test_segments_without_words_are_split_and_timed_by_characters() -> None:
    long_text = " ".join(PARAGRAPH.split()[:60])
    segments = (Segment(0, 1.0, 21.0, long_text), Segment(1, 22.0, 23.0, "The end."))
    opts = CaptionOptions()
    all_cues = cues(merged_from(segments=segments), opts)
    assert_valid(all_cues, opts)
    assert cue_words(all_cues) == [*long_text.split(), "The", "end."]
    first_segment = [c for c in all_cues if c.start_s < 21.0]
    assert len(first_segment) >= 3  # 20 s at most 7 s a cue
    assert first_segment[0].start_s == pytest.approx(1.0) and first_segment[-1].end_s == pytest.approx(21.0)
    assert all_cues[-1].lines == ("The end.",) and all_cues[-1].start_s == pytest.approx(22.0)
    # Interpolated by characters: a cue's share of the time is its share of the text.
    chars = len(long_text)
    for c in first_segment[:-1]:
        assert c.end_s - c.start_s == pytest.approx(20.0 * len(" ".join(c.lines)) / chars)


def test_text_only_transcript_gets_cues_over_the_whole_duration() -> None:
    all_cues = cues(merged_from(text="Hello there. General Kenobi.", duration_s=4.0), CaptionOptions())
    assert [c.lines for c in all_cues] == [("Hello there. General Kenobi.",)]
    assert (all_cues[0].start_s, all_cues[0].end_s) == (0.0, 4.0)


def test_words_show_their_segments_punctuation() -> None:
    words = tuple(WordTime(w, 0.4 * i, 0.4 * i + 0.3) for i, w in enumerate("hello world how are you".split()))
    segments = (Segment(0, 0.0, 0.7, "Hello, world!"), Segment(1, 0.8, 1.9, "How are you?"))
    all_cues = cues(merged_from(words=words, segments=segments), CaptionOptions())
    assert [" ".join(c.lines) for c in all_cues] == ["Hello, world! How are you?"]


def parse_times(pattern: str, line: str) -> tuple[float, float]:
    match = re.fullmatch(f"{pattern} --> {pattern}", line)
    assert match, line
    h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
    return h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000


def test_srt_parses_back() -> None:
    merged = merged_from(words=spoken(PARAGRAPH, start_s=3595.0))  # crosses the hour
    srt = to_srt(merged)
    all_cues = cues(merged)
    blocks = srt.rstrip("\n").split("\n\n")
    assert len(blocks) == len(all_cues) and srt.endswith("\n") and "\n\n\n" not in srt
    for block, c in zip(blocks, all_cues, strict=True):
        number, times, *lines = block.split("\n")
        assert int(number) == c.index and tuple(lines) == c.lines
        start_s, end_s = parse_times(SRT_TIME, times)
        assert start_s == pytest.approx(c.start_s, abs=5e-4) and end_s == pytest.approx(c.end_s, abs=5e-4)
    assert "01:00:0" in srt


def test_vtt_parses_back_and_names_speakers() -> None:
    words = spoken("Hello there <friend> & welcome.", speaker="SPEAKER_00") + spoken(
        "Thanks, glad to be here.", start_s=5.0, speaker="SPEAKER_01"
    )
    merged = merged_from(words=words)
    vtt = to_vtt(merged)
    header, *blocks = vtt.rstrip("\n").split("\n\n")
    assert header == "WEBVTT"
    all_cues = cues(merged)
    assert len(blocks) == len(all_cues)
    for block, c in zip(blocks, all_cues, strict=True):
        times, first, *_ = block.split("\n")
        start_s, end_s = parse_times(VTT_TIME, times)
        assert start_s == pytest.approx(c.start_s, abs=5e-4) and end_s == pytest.approx(c.end_s, abs=5e-4)
        assert first.startswith(f"<v {c.speaker}>")
    assert "&lt;friend&gt; &amp; welcome." in vtt
    plain = to_vtt(merged_from(words=spoken("Hello there.")))
    assert plain.startswith("WEBVTT\n\n00:00:00.000 --> ") and "<v " not in plain


def test_text_paragraphs_at_pauses_and_speaker_changes() -> None:
    segments = (
        Segment(0, 0.0, 2.0, "First thought."),
        Segment(1, 2.2, 4.0, "Still the first."),
        Segment(2, 7.0, 9.0, "After a pause."),
    )
    assert to_text(merged_from(segments=segments)) == "First thought. Still the first.\n\nAfter a pause.\n"
    speaker_segments = (
        SpeakerSegment(0, "SPEAKER_00", 0.0, 4.0, "First thought. Still the first.", ()),
        SpeakerSegment(1, "SPEAKER_01", 4.5, 8.0, "After a pause.", ()),
        SpeakerSegment(2, "SPEAKER_00", 9.5, 11.0, "Back to me.", ()),
    )
    diarized = merged_from(
        segments=(*segments, Segment(3, 9.5, 11.0, "Back to me."), Segment(4, 14.0, 15.0, "Later.")),
        speaker_segments=(*speaker_segments, SpeakerSegment(3, "SPEAKER_00", 14.0, 15.0, "Later.", ())),
    )
    assert diarized.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert to_text(diarized) == (
        "SPEAKER_00: First thought. Still the first.\n\n"
        "SPEAKER_01: After a pause.\n\n"
        "SPEAKER_00: Back to me.\n\n"
        "Later.\n"  # same speaker after a pause: no label
    )
    assert to_text(merged_from(text="  Only   text. ")) == "Only text.\n"
    assert to_text(merged_from(text="")) == ""


def test_json_document() -> None:
    words = (WordTime("Grüße", 0.1234, 0.5678, "SPEAKER_00"), WordTime("dir.", 0.6, 0.9, "SPEAKER_00"))
    segments = (Segment(7, 0.1234, 0.9, "Grüße dir."),)
    speaker_segments = (SpeakerSegment(3, "SPEAKER_00", 0.1234, 0.9, "Grüße dir.", words),)
    merged = merged_from(words=words, segments=segments, speaker_segments=speaker_segments)
    text = to_json(merged, {"model": "openai/whisper-large-v3", "audio_sha256": "ab12", "task": "transcribe"})
    assert text.endswith("}\n") and "Grüße" in text  # not escaped
    doc = json.loads(text)
    assert list(doc)[:10] == [
        "language",
        "task",
        "duration",
        "text",
        "segments",
        "words",
        "speakers",
        "speaker_segments",
        "chunks",
        "model",
    ]
    assert doc["audio_sha256"] == "ab12" and doc["language"] == "english"
    assert doc["segments"] == [{"id": 0, "start": 0.123, "end": 0.9, "text": "Grüße dir.", "speaker": "SPEAKER_00"}]
    assert doc["words"][0] == {"word": "Grüße", "start": 0.123, "end": 0.568, "speaker": "SPEAKER_00"}
    assert doc["speakers"] == ["SPEAKER_00"]
    assert doc["speaker_segments"][0]["id"] == 0 and len(doc["speaker_segments"][0]["words"]) == 2
    assert doc["chunks"][0]["index"] == 0 and doc["chunks"][0]["seam"] == "start"
    assert doc["chunks"][0]["request_id"] == "req"
    plain = json.loads(to_json(merged_from(words=spoken("Hello there."))))
    assert "speaker" not in plain["words"][0] and plain["speakers"] == []


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        CaptionOptions(max_line_chars=0)
    with pytest.raises(ValueError):
        CaptionOptions(min_cue_s=8.0)
    with pytest.raises(ValueError):
        CaptionOptions(max_pause_s=0.0)
