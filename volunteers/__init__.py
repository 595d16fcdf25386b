"""Volunteers: accounts, registration and profiles (accounts), the organization tree and roles (organizations),
administration pages (admin), bulk import (imports)."""
