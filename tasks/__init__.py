"""Prefect tasks: thin wrappers over the voxbatch core (arrive with the flow issues)."""
