"""Events: positions and shifts (manage), sign-up and the waitlist (signup), staffing boards and team quotas
(staffing), training credentials (training) and the private calendar feed (calendar)."""
