"""Affiliation pages: the volunteer's own (`mine`), the receiving side's queue (`queue`), bulk moves and the
graduates' hand-over (`moves`)."""
