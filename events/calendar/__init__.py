"""The private calendar feed (.ics) of a volunteer's shifts."""
