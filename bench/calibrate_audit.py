"""Calibrating the audit on the embedded engines: seconds per character, and what coverage a clean chunk gets.

Every chunk of the demo manuscripts (``manifests/texts``) and of the first chapter of Alice is synthesized with
espeak-ng as the embedded server would for a few voices of each model family, then heard by pocketsphinx as the
embedded recognizer would (16 kHz, VAD first), and aligned with its text (:mod:`voxbatch.audit.align`). Each chunk
is measured whole and cut to :data:`TRUNCATED_KEEP` of its samples (what the ``short`` fault answers). Prints
Markdown tables (copied into README's "Proof that every sentence was spoken" section)::

    PYTHONPATH=. python -m bench.calibrate_audit
"""

from __future__ import annotations

import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxbatch.audio import pcm
from voxbatch.audit.align import Alignment, align, sentence_spans, text_words
from voxbatch.client.results import WordTime
from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, default_engine
from voxbatch.server.catalog import TTS_MODELS, resolve_voice
from voxbatch.server.synthesis import speak
from voxbatch.text.chunking import chunk_budget, chunk_text

ROOT = Path(__file__).resolve().parent.parent
TEXTS = (ROOT / "manifests" / "texts" / "opening.txt", ROOT / "manifests" / "texts" / "lighthouse.md")
ALICE = ROOT / "tests" / "data" / "carroll-alice.txt"
ALICE_CHARS = int(os.environ.get("VOXBATCH_CALIBRATE_ALICE_CHARS", "6000"))
MODELS = {
    "hexgrad/Kokoro-82M": ("af_heart", "am_adam"),
    "canopylabs/orpheus-3b-0.1-ft": ("tara", "leo"),
}
TRUNCATED_KEEP = 0.4


@dataclass(frozen=True)
class Measured:
    model: str
    voice: str
    chars: int
    duration_s: float
    coverage: float
    sentences: int
    unheard_sentences: int
    truncated_coverage: float
    countable: int
    longest_unheard: int  # countable words in a row not heard
    truncated_longest_unheard: int


def _texts() -> list[tuple[str, bool]]:
    out = [(path.read_text(encoding="utf-8"), path.suffix == ".md") for path in TEXTS]
    alice = ALICE.read_text(encoding="utf-8")
    start = alice.index("Alice was beginning")
    out.append((alice[start : start + ALICE_CHARS].rsplit("\n\n", 1)[0], False))
    return out


def _hear(samples: np.ndarray, rate_hz: int) -> list[WordTime]:
    heard = default_engine().recognize(pcm.resample(samples, rate_hz, SPHINX_SAMPLE_RATE_HZ))
    return [WordTime(w.word, w.start_s, w.end_s) for w in heard.words]


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
                    words = text_words(chunk.spoken)
                    duration_s = len(synth.pcm) / synth.sample_rate_hz
                    whole = align(words, _hear(synth.pcm, synth.sample_rate_hz), (0.0, duration_s))
                    cut = synth.pcm[: int(len(synth.pcm) * TRUNCATED_KEEP)]
                    short = align(words, _hear(cut, synth.sample_rate_hz), (0.0, duration_s * TRUNCATED_KEEP))
                    spans = sentence_spans(words)
                    unheard = sum(1 for a, b in spans if not any(w.heard for w in whole.words[a:b]) and b - a >= 3)
                    rows.append(
                        Measured(
                            model_id,
                            voice_name,
                            len(chunk.spoken),
                            duration_s,
                            whole.coverage,
                            len(spans),
                            unheard,
                            short.coverage,
                            whole.countable,
                            longest_unheard(whole),
                            longest_unheard(short),
                        )
                    )
                    print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows


def longest_unheard(alignment: Alignment) -> int:
    longest = run = 0
    for word in alignment.words:
        if any(ch.isalpha() for ch in word.text):
            run = 0 if word.heard else run + 1
            longest = max(longest, run)
    return longest


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(rows: list[Measured]) -> str:
    lines = [
        "| model | voice | chunks | s/char median | s/char min | s/char max | coverage min | p10 | median | "
        "sentences (3+ words) never heard | coverage cut to 40 % median | max |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r.model, r.voice) for r in rows})
    for model, voice in keys:
        rs = [r for r in rows if (r.model, r.voice) == (model, voice)]
        rates = [r.duration_s / r.chars for r in rs]
        cov = [r.coverage for r in rs]
        cut = [r.truncated_coverage for r in rs]
        lines.append(
            f"| {model} | {voice} | {len(rs)} | {statistics.median(rates):.4f} | {min(rates):.4f} | "
            f"{max(rates):.4f} | {min(cov):.2f} | {_q(cov, 0.1):.2f} | {statistics.median(cov):.2f} | "
            f"{sum(r.unheard_sentences for r in rs)} of {sum(r.sentences for r in rs)} | "
            f"{statistics.median(cut):.2f} | {max(cut):.2f} |"
        )
    by_model = {}
    for model in sorted({r.model for r in rows}):
        by_model[model] = statistics.median(r.duration_s / r.chars for r in rows if r.model == model)
    lines.append("")
    lines += [f"- {m}: median {v:.4f} s per character" for m, v in by_model.items()]
    ratios = [r.duration_s / r.chars / by_model[r.model] for r in rows]
    lines.append(f"- duration / expected over all chunks: min {min(ratios):.2f}, max {max(ratios):.2f}")
    small = [r for r in rows if r.chars < 60]
    if small:
        lines.append(
            f"- chunks under 60 characters: {len(small)}, duration / expected min "
            f"{min(r.duration_s / r.chars / by_model[r.model] for r in small):.2f}"
        )
    return "\n".join(lines)


def run() -> list[str]:
    return ["## Audit calibration (espeak-ng voices, pocketsphinx)\n\n" + report(measure()) + "\n"]


if __name__ == "__main__":
    import pickle

    measured = measure()
    Path(os.environ.get("VOXBATCH_CALIBRATE_DUMP", "/dev/null")).write_bytes(pickle.dumps(measured))
    print("## Audit calibration (espeak-ng voices, pocketsphinx)\n\n" + report(measured))
