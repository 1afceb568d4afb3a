"""The cost-and-latency ledger: one Parquet record per API call (and per item), with prices."""
