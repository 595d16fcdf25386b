"""The membership prerequisite (入团条件): applicants' progress, decisions, exports."""
