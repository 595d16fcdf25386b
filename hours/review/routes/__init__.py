"""Pages of review: an event's hours and verification (review.py), disputes, audit and rounding (admin.py)."""
