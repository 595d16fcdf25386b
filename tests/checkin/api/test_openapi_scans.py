"""The OpenAPI document stays valid and describes the scan endpoints, their bodies, results and refusal codes."""

from __future__ import annotations

from openapi_spec_validator import validate

from checkin.refusals import REFUSAL_CODES


def test_the_document_validates_and_lists_the_scan_endpoints(anonymous):
    document = anonymous.get("/openapi.json", expect=200).get_json()
    validate(document)
    scans, kiosk = document["paths"]["/scans"]["post"], document["paths"]["/kiosk-scans"]["post"]
    assert scans["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScanBatch"}
    assert kiosk["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/KioskScan"}
    assert scans["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScanBatchResult"
    }
    assert kiosk["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScanResult"
    }
    assert {"400", "401", "403", "404", "413", "415", "422", "429"} <= set(scans["responses"])
    assert {"400", "401", "413", "415", "422", "429"} <= set(kiosk["responses"])
    assert scans["tags"] == kiosk["tags"] == ["check-in"]


def test_every_refusal_code_is_an_enum_of_the_scan_result(document):
    schemas = document["components"]["schemas"]
    result = schemas["ScanResult"]
    assert [c for c in result["properties"]["code"]["enum"] if c is not None] == list(REFUSAL_CODES)
    assert result["properties"]["code"]["nullable"] is True
    assert result["properties"]["result"]["enum"] == ["ok", "repeat", "conflict", "refused"]
    assert set(result["required"]) == set(result["properties"])
    batch = schemas["ScanBatch"]
    assert batch["properties"]["scans"]["maxItems"] == 500 and batch["additionalProperties"] is False
    assert schemas["BadgeScan"]["required"] == ["client_scan_id", "badge_token"]
    assert schemas["BadgeScan"]["properties"]["client_scan_id"]["maxLength"] == 64
