"""Account recovery without SMS: one-time password reset links issued by staff, and the one reset service."""
