"""Service hours: the ledger, review and verification, back-fill, membership readiness, certificates, reports."""
