"""The pipelines the run kernel drives: each implements the few steps that differ (plan an item, execute one unit of
its work, assemble it, estimate it); everything else about an item's life is :mod:`voxbatch.run.kernel`'s."""
