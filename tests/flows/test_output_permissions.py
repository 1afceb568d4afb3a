"""Every file a run writes (audio, transcripts, sidecars, build marker, cache, ledger) gets 0666 less the umask."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.audiobook import audiobook_flow
from flows.transcripts import transcript_flow
from voxbatch.audio.ffmpeg import decode_to_pcm, encode_pcm
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

RATE_HZ = 16000
CLIP_S = 2.0  # "and so my fellow": enough speech for a transcript, cheap to recognize


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640)], ids=["umask022", "umask027"])
def test_outputs_of_both_flows_get_the_usual_permissions(
    prefect_harness: str,
    make_server: Callable[..., LocalServer],
    tmp_path: Path,
    jfk_flac: bytes,
    mask: int,
    expected: int,
) -> None:
    server = make_server(api_key=None, recognizer="fake")
    settings = RunSpec(base_url=server.origin)
    (tmp_path / "books.csv").write_text('id,text,format\nbook,"A short book. It has two sentences.",m4b\n')
    clip = decode_to_pcm(jfk_flac, RATE_HZ)[: int(CLIP_S * RATE_HZ)]
    (tmp_path / "clip.flac").write_bytes(encode_pcm(clip, RATE_HZ, ["-f", "flac"]))

    old = os.umask(mask)
    try:
        tts = asyncio.run(audiobook_flow(str(tmp_path / "books.csv"), str(tmp_path / "tts"), spec=settings))
        stt = asyncio.run(transcript_flow(str(tmp_path / "clip.flac"), str(tmp_path / "stt"), spec=settings))
    finally:
        os.umask(old)

    assert tts.items["book"].status == "ok" and stt.items["clip"].status == "ok"
    tts_modes, stt_modes = _modes(tmp_path / "tts"), _modes(tmp_path / "stt")
    for name in ("book.m4b", "book.chapters.json", "book.srt"):
        assert tts_modes[name] == expected, name
    for fmt in ("txt", "srt", "vtt", "json"):
        assert stt_modes[f"clip.{fmt}"] == expected, fmt
    # Everything else too: the build and done markers, the chunk cache and the Parquet ledger.
    assert any(n.startswith("ledger/") for n in tts_modes) and any(n.startswith(".voxbatch-cache/") for n in stt_modes)
    assert {n: m for n, m in {**tts_modes, **stt_modes}.items() if m != expected} == {}
