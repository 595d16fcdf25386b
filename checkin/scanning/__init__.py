"""The scan engine: one scan becomes a check-in, a check-out, a repeat or a refusal; offline batches too."""
