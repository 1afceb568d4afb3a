"""The options ``voxbatch tts``, ``stt`` and ``schedule`` share: where calls go, how fast, what a run may spend,
where its cache and ledger live, and where its task runs run. One definition each, so each reads the same in
every command's ``--help``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxbatch.environment import BASE_URL_ENV

BYTES_PER_MB = 1024 * 1024

BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        help="Any Together-compatible server (default: Together with a key, else embedded).", envvar=BASE_URL_ENV
    ),
]
RpmOption = Annotated[
    float | None, typer.Option(help="Requests per minute for the run (default: learned from the provider's answers).")
]
MaxInFlightOption = Annotated[int, typer.Option(help="Requests in flight at most.")]
CacheDirOption = Annotated[Path | None, typer.Option(help="Chunk cache (default: OUT/.voxbatch-cache).")]
LedgerDirOption = Annotated[Path | None, typer.Option(help="Parquet ledger (default: OUT/ledger).")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Plan and price the run (chunks, size, cost, wall time); call nothing.")
]
DaskWorkersOption = Annotated[
    int | None, typer.Option(help="Run the task runs on a local Dask cluster of this many worker processes.")
]
DaskAddressOption = Annotated[
    str | None, typer.Option(help="Run the task runs on the Dask cluster whose scheduler is here (tcp://host:8786).")
]
ApiKeySecretOption = Annotated[
    str | None, typer.Option(help="Read the API key from this Prefect Secret block (instead of TOGETHER_API_KEY).")
]
LimitNameOption = Annotated[
    str | None, typer.Option(help="The Prefect global concurrency limit that shares --rpm across Dask workers.")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout-s",
        help="Seconds each request may take (default: 60 s plus 0.05 s per character, or 1 s per audio second; "
        "6 s on the embedded server).",
    ),
]
MaxCostOption = Annotated[
    float | None,
    typer.Option(help="Start no item whose price would take the run's spend over this many dollars."),
]
AllowPathOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-path",
        help="Also let manifest paths lead into this folder (repeatable); by default only the manifest's folder.",
    ),
]
