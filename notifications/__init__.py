"""Notifications: in-app messages rendered in the reader's language, and their email copies."""
