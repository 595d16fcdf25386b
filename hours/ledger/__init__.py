"""The append-only ledger of service hours, its derived tables and the volunteer's own pages."""
