"""Coordinators build events: events, positions, shifts, bulk shifts, rosters."""
