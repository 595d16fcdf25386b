"""Accounts: registration, login, profiles, passwords, activation of imported volunteers."""
