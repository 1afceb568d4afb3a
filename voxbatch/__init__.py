"""voxbatch core: the plain code the Prefect tasks call (no Prefect imports here)."""

__version__ = "0.1.0"
