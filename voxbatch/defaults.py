"""What a run uses when nobody says otherwise: models, voices, formats, output folders, pacing, attempts, upload size.

The command's options and help, the manifests' empty cells, the flows' parameters, the run settings and the
client all read these names, so a default is changed here and nowhere else. Standard library only: the command
imports this before it decides what else to load.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# --- models and voices -------------------------------------------------------------------------------------------

DEFAULT_TTS_MODEL = "hexgrad/Kokoro-82M"
DEFAULT_STT_MODEL = "openai/whisper-large-v3"  # the only model in Together's OpenAPI enum for transcriptions

# The voice a book gets when neither its manifest row nor --voice names one: its model's. Voice names are the
# ones Together documents per model (together-audio-api.md section 4; Orpheus' "tara" is also the documented
# default of the realtime endpoint), the first each model lists; the embedded server's catalog
# (voxbatch.server.catalog) serves these same defaults, and a test keeps every catalog model listed here.
DEFAULT_VOICES: Mapping[str, str] = MappingProxyType(
    {
        "hexgrad/Kokoro-82M": "af_heart",
        "canopylabs/orpheus-3b-0.1-ft": "tara",
        "cartesia/sonic": "friendly sidekick",
        "cartesia/sonic-2": "friendly sidekick",
        "cartesia/sonic-3": "friendly sidekick",
        "cartesia/sonic-english": "friendly sidekick",
        "rime-labs/rime-mist-v2": "cove",
        "rime-labs/rime-mist-v3": "cove",
        "rime-labs/rime-arcana-v2": "albion",
        "rime-labs/rime-arcana-v3": "albion",
        "rime-labs/rime-arcana-v3-turbo": "albion",
        "deepgram/deepgram-aura-2": "thalia",
        "minimax/speech-2.6-turbo": "English_DeterminedMan",
        "minimax/speech-2.8-turbo": "English_CalmWoman",
    }
)
DEFAULT_TTS_VOICE = DEFAULT_VOICES[DEFAULT_TTS_MODEL]  # "af_heart"


def default_voice(model: str) -> str:
    """The voice ``model`` speaks with when none is given.

    A model with no voices listed here (a compatible server's own model name, such as Kokoro-FastAPI's
    ``kokoro``) gets the default model's voice, as every model did before voices were chosen per model.
    """
    return DEFAULT_VOICES.get(model, DEFAULT_TTS_VOICE)


# --- outputs -----------------------------------------------------------------------------------------------------

DEFAULT_AUDIO_FORMAT = "mp3"  # an audiobook's container (mp3, m4b, wav, flac or opus)
DEFAULT_TRANSCRIPT_FORMATS = "txt,srt,vtt,json"  # every transcript output
DEFAULT_AUDIOBOOK_OUT_DIR = "out/audiobooks"
DEFAULT_TRANSCRIPT_OUT_DIR = "out/transcripts"
NIGHTLY_CRON = "0 2 * * *"  # `voxbatch schedule`: 02:00 every night ...
NIGHTLY_TIMEZONE = "UTC"  # ... in this IANA time zone

# --- calls -------------------------------------------------------------------------------------------------------

MAX_IN_FLIGHT = 16  # HTTP calls in flight at once, per run (per worker process on Dask); the limiter may lower it
MAX_ATTEMPTS_PER_CALL = 6  # the first try and its retries together
PROVIDER_UPLOAD_LIMIT_BYTES = 80 * 1024 * 1024  # 83_886_080: Together's direct-upload limit (larger files are split)
