"""Administration pages: the start page, role grants and the audit trail."""
