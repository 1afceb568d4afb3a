"""The local server: speech latency and concurrency, and what finding speech first saves recognition.

Every comparison is measured in the same run; medians of repeated runs are quoted with their ratio.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jiwer
import numpy as np
import numpy.typing as npt
import pocketsphinx

from voxbatch.audio.ffmpeg import decode_to_pcm
from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, SphinxEngine
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

REPO = Path(__file__).resolve().parent.parent
JFK = REPO / "manifests" / "audio" / "jfk.flac"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
SENTENCE = "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do."
SPEECH_REPEATS = 30
CONCURRENT_CALLS = 16
CONCURRENCY = 8
STT_REPEATS = 3
NOISE_PAD_S = 30.0
NOISE_RMS_INT16 = 30.0  # quiet room noise, well under speech level


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _wer(hypothesis: str) -> float:
    words = [w.strip(".,").lower() for w in JFK_TEXT.split()]
    return float(jiwer.wer(" ".join(words), hypothesis or "<empty>"))


def _whole_file_decode(pcm: npt.NDArray[np.int16]) -> str:
    """The naive baseline: one pocketsphinx utterance over the whole input, silence included."""
    config = pocketsphinx.Decoder.default_config()
    config["loglevel"] = "FATAL"
    decoder = pocketsphinx.Decoder(config)
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp else ""


def speech_section() -> str:
    with (
        LocalServer(ServerOptions(port=0)) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        body = {
            "model": "hexgrad/Kokoro-82M",
            "voice": "af_heart",
            "input": SENTENCE,
            "response_format": "wav",
        }
        http.post("/audio/speech", json=body).raise_for_status()  # warm up espeak-ng

        def one() -> None:
            http.post("/audio/speech", json=body).raise_for_status()

        wav_s = _median_s(one, SPEECH_REPEATS)
        mp3_s = _median_s(lambda: http.post("/audio/speech", json={**body, "response_format": "mp3"}), SPEECH_REPEATS)

        def burst(workers: int) -> float:
            start = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda _: one(), range(CONCURRENT_CALLS)))
            return time.perf_counter() - start

        serial_s = statistics.median(burst(1) for _ in range(3))
        parallel_s = statistics.median(burst(CONCURRENCY) for _ in range(3))
    return "\n".join(
        [
            "## Local server: speech",
            "",
            f"{len(SENTENCE)}-character sentence, Kokoro voice, loopback HTTP, median of {SPEECH_REPEATS} calls.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| `POST /v1/audio/speech` wav, latency | {wav_s * 1000:.1f} ms |",
            f"| `POST /v1/audio/speech` mp3 (ffmpeg encode), latency | {mp3_s * 1000:.1f} ms |",
            f"| {CONCURRENT_CALLS} calls one after another | {serial_s * 1000:.0f} ms |",
            f"| {CONCURRENT_CALLS} calls, {CONCURRENCY} at a time | {parallel_s * 1000:.0f} ms "
            f"({serial_s / parallel_s:.2f}x) |",
            "",
        ]
    )


def recognition_section() -> str:
    jfk = decode_to_pcm(JFK.read_bytes(), SPHINX_SAMPLE_RATE_HZ)
    rng = np.random.default_rng(0)
    pad = (rng.normal(0, NOISE_RMS_INT16, int(NOISE_PAD_S * SPHINX_SAMPLE_RATE_HZ))).astype(np.int16)
    padded = np.concatenate([pad, jfk, pad])
    noise_only = np.concatenate([pad, pad])
    engine = SphinxEngine()
    engine.recognize(jfk[:SPHINX_SAMPLE_RATE_HZ])  # load a decoder before timing
    rows = []
    for name, audio in (
        ("jfk.flac (11 s speech)", jfk),
        (f"jfk with {NOISE_PAD_S:.0f} s noise each side", padded),
        (f"{2 * NOISE_PAD_S:.0f} s noise only", noise_only),
    ):
        vad_s = _median_s(functools.partial(engine.recognize, audio), STT_REPEATS)
        whole_s = _median_s(functools.partial(_whole_file_decode, audio), STT_REPEATS)
        seconds = len(audio) / SPHINX_SAMPLE_RATE_HZ
        if audio is noise_only:
            wer = f"{len(_whole_file_decode(audio).split())} / {len(engine.recognize(audio).words)} words invented"
        else:
            wer = f"{_wer(_whole_file_decode(audio)):.2f} / {_wer(engine.recognize(audio).text):.2f}"
        rows.append(f"| {name} | {seconds:.1f} s | {whole_s:.2f} s | {vad_s:.2f} s | {whole_s / vad_s:.1f}x | {wer} |")
    return "\n".join(
        [
            "## Local server: recognition (pocketsphinx)",
            "",
            f"Median of {STT_REPEATS} runs each. 'whole file' is one pocketsphinx utterance over everything;",
            "'speech regions first' is `SphinxEngine.recognize` (voice-activity detection, then decode only speech).",
            "",
            "| input | audio | whole file | speech regions first | speed-up | WER whole / regions first |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def _latencies_during_transcription(server: LocalServer, audio: bytes) -> list[float]:
    """Latency of small requests sent back to back while one transcription is being decoded."""
    latencies: list[float] = []
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.base_url, timeout=120) as http:
        pending = pool.submit(http.post, "/audio/transcriptions", files={"file": ("jfk.flac", audio)})
        while not pending.done():
            start = time.perf_counter()
            http.get("/voices").raise_for_status()
            latencies.append(time.perf_counter() - start)
        pending.result().raise_for_status()
    return latencies


def stall_section() -> str:
    from starlette.concurrency import run_in_threadpool

    from voxbatch.engines.sphinx import default_engine
    from voxbatch.server import recognizer

    audio = JFK.read_bytes()
    in_process = recognizer.recognize

    async def on_a_thread(pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ) -> object:
        return await run_in_threadpool(default_engine().recognize, pcm, sample_rate_hz)

    rows = []
    with LocalServer(ServerOptions(port=0)) as server:
        _latencies_during_transcription(server, audio)  # start the workers and load their models
        for name, impl in (("decoder on a server thread", on_a_thread), ("decoder in worker processes", in_process)):
            recognizer.recognize = impl  # type: ignore[assignment]
            try:
                lat = _latencies_during_transcription(server, audio)
            finally:
                recognizer.recognize = in_process
            rows.append(f"| {name} | {len(lat)} | {statistics.median(lat) * 1000:.1f} ms | {max(lat) * 1000:.0f} ms |")
    return "\n".join(
        [
            "## Local server: does recognition stall other requests?",
            "",
            "`GET /v1/voices` sent back to back while jfk.flac is transcribed. pocketsphinx holds the GIL while it",
            "decodes, so on a thread it freezes the event loop; the server therefore decodes in worker processes.",
            "",
            "| recognition runs | requests answered meanwhile | median latency | worst latency |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def run() -> list[str]:
    return [speech_section(), recognition_section(), stall_section()]
