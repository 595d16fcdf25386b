"""Bulk import of volunteers from .xlsx: template, checks, background jobs, results."""
