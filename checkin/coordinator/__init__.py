"""The coordinator's side of check-in: the badge scanner, manual check-in, fixes and the live dashboard."""
