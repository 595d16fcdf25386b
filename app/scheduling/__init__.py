"""The scheduler process, its single-holder lock and the once-per-period guard of jobs."""
