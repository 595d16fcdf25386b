"""Demo data for `make run`: `flask demo load` and `flask demo reset`."""
