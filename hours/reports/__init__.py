"""Hours reports of an organization subtree and a period, and a volunteer's year by month."""
