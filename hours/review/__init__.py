"""Review and verification of hours, disputes, corrections and the hours audit trail."""
