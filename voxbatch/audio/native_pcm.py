"""Which audio is read in this process instead of by an ffmpeg process: FLAC or WAV that already holds what is
asked for (one channel of 16-bit PCM at the requested rate), read with libsndfile (the ``soundfile`` wheel).

Every transcription upload used to cost an ffmpeg process (~0.1 CPU-s, mostly its start) even when it was one of
voxbatch's own chunks, 16 kHz mono 16-bit FLAC, which needs no conversion at all. For such audio both decoders
give the same samples, bit for bit (lossless codecs, no resampling, no mixing); anything else (another codec,
rate, width or channel count, or a file libsndfile refuses) is left to ffmpeg, whose errors say why.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt

_NATIVE_FORMATS = frozenset({"FLAC", "WAV"})
_NATIVE_SUBTYPE = "PCM_16"
_FLAC_MAGIC = b"fLaC"
_WAV_MAGIC = (b"RIFF", b"WAVE")


def _looks_native(data: bytes) -> bool:
    """A cheap look at the first bytes: FLAC's stream marker, or a RIFF/WAVE header."""
    return data[:4] == _FLAC_MAGIC or (data[:4] == _WAV_MAGIC[0] and data[8:12] == _WAV_MAGIC[1])


def read_native_pcm(data: bytes, sample_rate_hz: int) -> npt.NDArray[np.int16] | None:
    """Mono int16 PCM of ``data`` if it is FLAC or WAV holding exactly that at ``sample_rate_hz``, else None."""
    if not _looks_native(data):
        return None
    import soundfile  # (libsndfile; imported only when an upload may be read with it)

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as audio:  # its header parsed once, for the checks and the read
            if (
                audio.format not in _NATIVE_FORMATS
                or audio.subtype != _NATIVE_SUBTYPE
                or audio.channels != 1
                or audio.samplerate != sample_rate_hz
            ):
                return None
            pcm = audio.read(dtype="int16", always_2d=False)
    except (RuntimeError, ValueError, TypeError):  # soundfile.LibsndfileError is a RuntimeError
        return None
    samples: npt.NDArray[np.int16] = np.ascontiguousarray(pcm, dtype=np.int16)
    return samples if len(samples) else None
