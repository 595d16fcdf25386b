"""The kiosk's rotating QR code and the volunteer's side of a scan: arrival link, self check-in, badge."""
