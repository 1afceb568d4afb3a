"""Calibrating the audit on the embedded engines: seconds per character, and what a clean chunk's hearing gets.

Every chunk of the demo manuscripts (``manifests/texts``) and of Alice's first pages is synthesized with espeak-ng
as the embedded server would: for durations, by the first :data:`DURATION_VOICES` voices of four models (espeak-ng
is quick); for hearing, by two voices each of Kokoro and Orpheus, heard by pocketsphinx as ``--audit free`` hears
it (16 kHz, speech regions first), whole and cut to :data:`TRUNCATED_KEEP` of its samples (what the ``short``
fault answers). Each hearing is aligned with the chunk's text (:mod:`voxbatch.audit.align`). Prints Markdown
(copied into README's "Proof that every sentence was spoken")::

    PYTHONPATH=. python -m bench.calibrate_audit            # synthesize and hear (slow: pocketsphinx)
    VOXBATCH_CALIBRATE_DUMP=/tmp/heard.json PYTHONPATH=. python -m bench.calibrate_audit   # and keep what was heard
    VOXBATCH_CALIBRATE_LOAD=/tmp/heard.json PYTHONPATH=. python -m bench.calibrate_audit   # re-align only
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxbatch.audio import pcm
from voxbatch.audit.align import Alignment, align, text_words
from voxbatch.audit.pace import SHORT_RATIO, expected_s
from voxbatch.audit.verdict import EMBEDDED_RULES, hearing_of
from voxbatch.client.results import WordTime
from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, default_engine
from voxbatch.server.catalog import TTS_MODELS, resolve_voice
from voxbatch.server.synthesis import speak
from voxbatch.text.chunking import chunk_budget, chunk_text

ROOT = Path(__file__).resolve().parent.parent
TEXTS = (ROOT / "manifests" / "texts" / "opening.txt", ROOT / "manifests" / "texts" / "lighthouse.md")
ALICE = ROOT / "tests" / "data" / "carroll-alice.txt"
ALICE_CHARS = int(os.environ.get("VOXBATCH_CALIBRATE_ALICE_CHARS", "4000"))
MODELS = {
    "hexgrad/Kokoro-82M": ("af_heart", "am_adam"),
    "canopylabs/orpheus-3b-0.1-ft": ("tara", "leo"),
}
DURATION_MODELS = ("hexgrad/Kokoro-82M", "canopylabs/orpheus-3b-0.1-ft", "cartesia/sonic-2", "minimax/speech-2.8-turbo")
DURATION_VOICES = 6
LONG_CHUNK_CHARS = 100  # headings and other short chunks vary most; these are what a cut is mostly caught in
TRUNCATED_KEEP = 0.4
Heard = list[tuple[str, float, float]]


@dataclass(frozen=True)
class Measured:
    """One chunk read by one voice, and what pocketsphinx heard of it whole and cut short."""

    model: str
    voice: str
    text: str
    duration_s: float
    heard: Heard
    heard_cut: Heard


def _texts() -> list[tuple[str, bool]]:
    out = [(path.read_text(encoding="utf-8"), path.suffix == ".md") for path in TEXTS]
    alice = ALICE.read_text(encoding="utf-8")
    start = alice.index("Alice was beginning")
    out.append((alice[start : start + ALICE_CHARS].rsplit("\n\n", 1)[0], False))
    return out


def _hear(samples: npt.NDArray[np.int16], rate_hz: int) -> Heard:
    heard = default_engine().recognize(pcm.resample(samples, rate_hz, SPHINX_SAMPLE_RATE_HZ))
    return [(w.word, w.start_s, w.end_s) for w in heard.words]


def measure() -> list[Measured]:
    rows = []
    for model_id, voices in MODELS.items():
        model = TTS_MODELS[model_id]
        for text, markdown in _texts():
            chunks = chunk_text(text, max_chars=chunk_budget(model_id), markdown=markdown).chunks
            for voice_name in voices:
                voice = resolve_voice(model, voice_name)
                for chunk in chunks:
                    synth = speak(chunk.spoken, voice)
                    cut = synth.pcm[: int(len(synth.pcm) * TRUNCATED_KEEP)]
                    rows.append(
                        Measured(
                            model_id,
                            voice_name,
                            chunk.spoken,
                            len(synth.pcm) / synth.sample_rate_hz,
                            _hear(synth.pcm, synth.sample_rate_hz),
                            _hear(cut, synth.sample_rate_hz),
                        )
                    )
                    print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows


def durations() -> str:
    """Seconds per character of every chunk read by :data:`DURATION_VOICES` voices of each model, against
    :func:`voxbatch.audit.pace.expected_s`."""
    rows: list[tuple[str, int, float]] = []
    for model_id in DURATION_MODELS:
        model = TTS_MODELS[model_id]
        for text, markdown in _texts():
            for chunk in chunk_text(text, max_chars=chunk_budget(model_id), markdown=markdown).chunks:
                for voice_name in list(model.espeak)[:DURATION_VOICES]:
                    synth = speak(chunk.spoken, resolve_voice(model, voice_name))
                    rows.append((model_id, len(chunk.spoken), len(synth.pcm) / synth.sample_rate_hz))
    lines = [
        "| model | chunks | s/char median | duration / expected, all | chunks of 100+ characters |",
        "|---|---|---|---|---|",
    ]
    for model_id in DURATION_MODELS:
        mine = [(n, d) for m, n, d in rows if m == model_id]
        ratios = [d / expected_s(model_id, n) for n, d in mine]
        long = [d / expected_s(model_id, n) for n, d in mine if n >= LONG_CHUNK_CHARS]
        lines.append(
            f"| {model_id} | {len(mine)} | {statistics.median(d / n for n, d in mine):.4f} | "
            f"{min(ratios):.2f} - {max(ratios):.2f} | {min(long):.2f} - {max(long):.2f} |"
        )
    everything = [d / expected_s(m, n) for m, n, d in rows if n >= LONG_CHUNK_CHARS]
    lines.append(
        f"\n- a {TRUNCATED_KEEP:.0%} cut of a chunk of {LONG_CHUNK_CHARS}+ characters: duration / expected "
        f"{TRUNCATED_KEEP * min(everything):.2f} - {TRUNCATED_KEEP * max(everything):.2f} (far too short: under "
        f"{SHORT_RATIO})"
    )
    return "\n".join(lines)


def _aligned(row: Measured, heard: Heard) -> Alignment:
    return align(text_words(row.text), [WordTime(*w) for w in heard], (0.0, row.duration_s))


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(rows: list[Measured]) -> str:
    judged = [r for r in rows if _aligned(r, r.heard).countable >= EMBEDDED_RULES.min_judged_words]
    lines = [
        "| model | voice | chunks | s/char median | duration / expected min - max | clean coverage min / p10 / "
        "median (chunks judged) | cut to 40 %: coverage median / max | sentences never heard (clean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, voice in sorted({(r.model, r.voice) for r in rows}):
        rs = [r for r in rows if (r.model, r.voice) == (model, voice)]
        rates = [r.duration_s / len(r.text) for r in rs]
        ratios = [r.duration_s / expected_s(r.model, len(r.text)) for r in rs]
        mine = [r for r in judged if (r.model, r.voice) == (model, voice)]
        clean = [_aligned(r, r.heard).coverage for r in mine] or [float("nan")]
        cut = [_aligned(r, r.heard_cut).coverage for r in mine] or [float("nan")]
        hearings = [hearing_of(r.text, [WordTime(*w) for w in r.heard]) for r in rs]
        sentences = sum(len(h.unheard_sentences) for h in hearings)
        lines.append(
            f"| {model} | {voice} | {len(rs)} | {statistics.median(rates):.4f} | {min(ratios):.2f} - "
            f"{max(ratios):.2f} | {min(clean):.2f} / {_q(clean, 0.1):.2f} / {statistics.median(clean):.2f} "
            f"({len(mine)}) | {statistics.median(cut):.2f} / {max(cut):.2f} | {sentences} |"
        )
    ratios = [r.duration_s / expected_s(r.model, len(r.text)) for r in rows]
    clean = [_aligned(r, r.heard).coverage for r in judged]
    cut = [_aligned(r, r.heard_cut).coverage for r in judged]
    medians = {m: statistics.median(r.duration_s / len(r.text) for r in rows if r.model == m) for m in MODELS}
    lines += [
        "",
        "- seconds per character, median: " + ", ".join(f"{m} {v:.4f}" for m, v in medians.items()),
        f"- duration / expected over all {len(rows)} chunks: {min(ratios):.2f} - {max(ratios):.2f} "
        f"(far too short below {SHORT_RATIO}; the cut answers: {TRUNCATED_KEEP * min(ratios):.2f} - "
        f"{TRUNCATED_KEEP * max(ratios):.2f})",
        f"- coverage of the {len(judged)} chunks of {EMBEDDED_RULES.min_judged_words}+ words: clean min "
        f"{min(clean):.2f}, p10 {_q(clean, 0.1):.2f}, median {statistics.median(clean):.2f}; cut to "
        f"{TRUNCATED_KEEP:.0%}: median {statistics.median(cut):.2f}, max {max(cut):.2f}",
    ]
    return "\n".join(lines)


def run() -> list[str]:
    return [f"## Audit calibration (espeak-ng voices, pocketsphinx)\n\n{durations()}\n\n{report(measure())}\n"]


if __name__ == "__main__":
    load, dump = os.environ.get("VOXBATCH_CALIBRATE_LOAD"), os.environ.get("VOXBATCH_CALIBRATE_DUMP")
    measured = [Measured(**row) for row in json.loads(Path(load).read_text())] if load else measure()
    if dump:
        Path(dump).write_text(json.dumps([asdict(row) for row in measured]))
    print(f"## Audit calibration (espeak-ng voices, pocketsphinx)\n\n{durations()}\n\n{report(measured)}")
