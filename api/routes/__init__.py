"""API endpoints, one module per resource."""
