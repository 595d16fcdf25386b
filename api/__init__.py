"""The JSON API under /api/v1: events, positions, shifts, assignments and scans, with its OpenAPI document.

Views are thin: load → ask app.permissions → call the same services as the pages → commit.
"""
