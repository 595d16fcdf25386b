"""Changing affiliation: a volunteer's move request, staff moves in bulk, and the graduates' hand-over (学社衔接)."""
