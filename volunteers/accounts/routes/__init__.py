"""Account pages (account.py) and the activation page of imported volunteers (activation.py)."""
