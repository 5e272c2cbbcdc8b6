"""Hospital exchange formats, parsed and written without touching models or servers.

FHIR R4 DiagnosticReport (``fhir``), HL7 v2 ORU^R01 (``hl7v2``) and the
section parser for free-text reports (``sections``). Ingest reads through
them and the serve front doors (FHIR endpoint, MLLP listener) answer in them,
so they sit below both and depend on nothing but ``radimpress.records``.
"""
