"""Which AAC and mp3 settings to encode books with: CPU time against objective quality, on real synthesized speech.

The opening of Alice's Adventures in Wonderland is spoken by the embedded engine (espeak-ng, resampled to 24 kHz as
the local server answers), brought to -20 dBFS RMS like a stitched book, and encoded by ffmpeg with each setting.
The decoded audio is compared with the source: SNR of the waveform, and the log-spectral distance (the RMS over
frequency of the dB difference of 512-sample Hann-windowed spectra, averaged over the frames within 50 dB of the
loudest: lower is better). CPU is ffmpeg's user + system time; the bit rate is the file's size over the duration.
"""

from __future__ import annotations

import resource
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxbatch.audio.ffmpeg import ffmpeg_exe
from voxbatch.audio.pcm import resample
from voxbatch.engines.espeak import default_engine

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "tests" / "data" / "carroll-alice.txt"
RATE_HZ = 24000
TEXT_CHARS = 30_000  # about 10 minutes of speech
FRAME_SAMPLES = 512
SPEECH_RANGE_DB = 50.0
TARGET_RMS = 32768 * 10 ** (-20 / 20)
SETTINGS: tuple[tuple[str, list[str], str], ...] = (
    ("AAC `twoloop` (ffmpeg's default), 64k", ["-c:a", "aac", "-b:a", "64k"], "ipod"),
    ("AAC `twoloop`, 70k (about the size of `fast` at 64k)", ["-c:a", "aac", "-b:a", "70k"], "ipod"),
    ("AAC `fast`, 64k (**chosen**)", ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "64k"], "ipod"),
    (
        "AAC `fast`, 58k (about the size of `twoloop` at 64k)",
        ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "58k"],
        "ipod",
    ),
    ("mp3 LAME, 64k (**kept**)", ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"),
    ("mp3 LAME `-compression_level 7`, 64k", ["-c:a", "libmp3lame", "-compression_level", "7", "-b:a", "64k"], "mp3"),
)


def _speech() -> npt.NDArray[np.int16]:
    text = ALICE.read_text(encoding="utf-8")[:TEXT_CHARS]
    synthesis = default_engine().synthesize(text)
    pcm = resample(synthesis.pcm, synthesis.sample_rate_hz, RATE_HZ).astype(np.float64)
    pcm *= TARGET_RMS / np.sqrt(np.mean(pcm**2))
    return np.clip(np.rint(pcm), -32768, 32767).astype(np.int16)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _log_spectral_distance_db(source: npt.NDArray[np.float64], decoded: npt.NDArray[np.float64]) -> float:
    n = min(len(source), len(decoded)) // FRAME_SAMPLES * FRAME_SAMPLES
    window = np.hanning(FRAME_SAMPLES)
    a = np.abs(np.fft.rfft(source[:n].reshape(-1, FRAME_SAMPLES) * window)) ** 2 + 1e-3
    b = np.abs(np.fft.rfft(decoded[:n].reshape(-1, FRAME_SAMPLES) * window)) ** 2 + 1e-3
    frame_db = 10 * np.log10(a.sum(axis=1))
    speech = frame_db > frame_db.max() - SPEECH_RANGE_DB
    difference = 10 * np.log10(a[speech]) - 10 * np.log10(b[speech])
    return float(np.mean(np.sqrt(np.mean(difference**2, axis=1))))


def _row(source: npt.NDArray[np.int16], raw: Path, label: str, codec: list[str], muxer: str) -> str:
    out = raw.with_name(f"out.{muxer}")
    argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(RATE_HZ), "-ac", "1"]
    before = _children_cpu_s()
    subprocess.run([*argv, "-i", str(raw), *codec, "-f", muxer, str(out)], check=True)
    cpu = _children_cpu_s() - before
    decode = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(out), "-f", "s16le", "-ac", "1", "-"]
    decoded = np.frombuffer(subprocess.run(decode, capture_output=True, check=True).stdout, "<i2").astype(np.float64)
    reference = source.astype(np.float64)
    n = min(len(decoded), len(reference))
    snr = 10 * np.log10(np.sum(reference[:n] ** 2) / np.sum((decoded[:n] - reference[:n]) ** 2))
    seconds = len(source) / RATE_HZ
    kbps = out.stat().st_size * 8 / seconds / 1000
    lsd = _log_spectral_distance_db(reference, decoded)
    return f"| {label} | {cpu:.2f} s ({seconds / cpu:.0f}x real time) | {kbps:.1f} kb/s | {snr:.1f} dB | {lsd:.2f} dB |"


def run() -> list[str]:
    source = _speech()
    with tempfile.TemporaryDirectory(prefix="voxbatch-bench-codecs-") as tmp:
        raw = Path(tmp) / "speech.raw"
        raw.write_bytes(source.astype("<i2").tobytes())
        rows = [_row(source, raw, label, codec, muxer) for label, codec, muxer in SETTINGS]
    return [
        "\n".join(
            [
                "## Encoder settings: CPU against quality (issue 17)",
                "",
                f"{len(source) / RATE_HZ:.0f} s of Alice spoken by the embedded engine at {RATE_HZ} Hz, -20 dBFS RMS; "
                "one encode each (CPU is ffmpeg's own time). SNR: decoded against the source (higher is better); "
                "LSD: log-spectral distance (lower is better).",
                "",
                "| setting | CPU | file bit rate | SNR | LSD |",
                "|---|---|---|---|---|",
                *rows,
                "",
            ]
        )
    ]


if __name__ == "__main__":
    for section in run():
        print(section, flush=True)
