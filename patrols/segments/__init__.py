"""River segments, their recurring patrol schedules, generated patrol shifts and the patrol geofence."""
