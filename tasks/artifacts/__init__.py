"""What a run publishes to the Prefect UI: its live progress and its summary, as artifacts."""
