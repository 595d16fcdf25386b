"""The API's own description: the OpenAPI 3 document."""

from __future__ import annotations

from flask import jsonify

from api.openapi import build_document, operation


@operation("/openapi.json", summary="This OpenAPI document", tag="meta", response="OpenApiDocument", public=True)
def openapi_document():
    """The OpenAPI 3 document of every endpoint (no login needed)."""
    return jsonify(build_document())
