"""Patrol reports (巡河记录): findings, photos, follow-up and the committee view."""
