"""Check-in and check-out: rotating tokens, the scan engine (scanning), the kiosk and badge pages (kiosk), the
coordinator's scanner, fixes and live dashboard (coordinator), offline sync."""
