"""Volunteers find events and take shifts: browse, sign-up rules, places, the waitlist."""
