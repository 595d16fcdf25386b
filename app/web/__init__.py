"""Cross-cutting web concerns: headers, error pages, template helpers, the form-view shape, loading by id."""
