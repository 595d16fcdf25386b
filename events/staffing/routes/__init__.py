"""Pages of staffing: the board and shift pages (board.py), team quotas (quotas.py)."""
