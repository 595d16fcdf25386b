"""River patrol (河小青): river segments and recurring patrol duty (segments), patrol reports and the committee
view (reports)."""
