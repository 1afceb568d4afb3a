"""A run of either pipeline: its specification, its context (client, limiter, ledger, cache), the one item lifecycle
(:mod:`voxbatch.run.kernel`) and what a run shares around it (budget, progress, estimate, summary, stop)."""
