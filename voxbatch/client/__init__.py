"""The speech API client: one rate-limited, retried, measured client for Together and compatible servers."""
