"""Staffing an event: the board, a shift's volunteers, search and assign, team quotas."""
