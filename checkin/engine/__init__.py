"""The check-in engine: every kind of scan becomes a check-in, a check-out, a repeat, a conflict or a refusal here.

    request.py   ScanRequest (typed, validated once by its caller) and Rules (the settings the rules read)
    snapshot.py  read_snapshot: everything the rules need, the volunteer's row locked, in one statement
    decide.py    decide(request, snapshot, rules) -> Decision: the rules, pure (no I/O)
    write.py     the decision's change and its scan-log row as SQLAlchemy Core statements
    result.py    ScanResult, the one result type, and scan_answer, its one serialization
    apply.py     apply_scan: read, decide, write, answer; refuse: log a refusal found before the engine
    geo.py, geofence.py  positions, the event's circle and other areas' fences (pure, measured in decide)

Badge scans (API and the coordinator's page), kiosk scans, offline batches, manual check-ins, walk-ins and
geofenced self check-ins all go through apply_scan (checkin.scanning.services and .offline build the requests).
"""
