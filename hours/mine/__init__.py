"""The volunteer's own hours pages: my hours, one entry with its history, disputing an entry."""
