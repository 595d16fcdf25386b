"""The import pages (blueprint `admin`): volunteers (`volunteers.py`) and the organization tree (`tree.py`)."""
