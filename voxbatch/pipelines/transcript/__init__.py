"""Speech to text for whole archives: probing, splitting long audio, merging chunk transcripts, captions."""
