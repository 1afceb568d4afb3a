"""Prefect tasks and the Prefect-only pieces around the core: how the run kernel's steps become task runs
(:mod:`tasks.steps`, :mod:`tasks.run`), Dask scale-out and the shared rate limit (:mod:`tasks.scale`), artifacts
(:mod:`tasks.artifacts`) and Secret blocks (:mod:`tasks.secrets`)."""
