"""Every environment variable voxbatch reads, and what it means: one list for the code and the command's --help.

Standard library only (the command imports this before it decides what else to load).
"""

from __future__ import annotations

API_KEY_ENV = "TOGETHER_API_KEY"
BASE_URL_ENV = "TOGETHER_BASE_URL"
PREFECT_API_URL_ENV = "PREFECT_API_URL"
PREFECT_STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
PREFECT_LOGGING_LEVEL_ENV = "PREFECT_LOGGING_LEVEL"
STOP_GRACE_ENV = "VOXBATCH_STOP_GRACE_S"
PRICES_FILE_ENV = "VOXBATCH_PRICES_FILE"
SERVER_API_KEY_ENV = "VOXBATCH_SERVER_API_KEY"

DEFAULT_STOP_GRACE_S = 30.0  # how long calls in flight may take to finish after the first Ctrl-C or SIGTERM
DEFAULT_PREFECT_STARTUP_TIMEOUT_S = 120  # Prefect's own default (20 s) is too short on a loaded 2-core machine

# name -> what it does, as --help lists it
ENVIRONMENT: tuple[tuple[str, str], ...] = (
    (API_KEY_ENV, "Your Together AI key. Without it (and without a base URL) runs use the embedded local server."),
    (BASE_URL_ENV, "Any Together-compatible server (as --base-url); one on this machine needs no key."),
    (
        PREFECT_API_URL_ENV,
        "A running Prefect server, e.g. http://127.0.0.1:4200/api (default: tts and stt start a local one for the "
        "run; schedule needs one).",
    ),
    (
        PREFECT_STARTUP_TIMEOUT_ENV,
        f"Seconds to wait for that local Prefect server to start (default {DEFAULT_PREFECT_STARTUP_TIMEOUT_S}).",
    ),
    (PREFECT_LOGGING_LEVEL_ENV, "WARNING unless set; INFO also shows the flows' own log lines."),
    (STOP_GRACE_ENV, f"Seconds calls in flight get after Ctrl-C or SIGTERM (default {DEFAULT_STOP_GRACE_S:g})."),
    (PRICES_FILE_ENV, "A TOML file of prices that overrides or extends the built-in price table."),
    (SERVER_API_KEY_ENV, "The key `voxbatch serve` requires (as its --api-key)."),
)
