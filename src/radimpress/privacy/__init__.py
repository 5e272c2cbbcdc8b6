"""PHI scrubbing for report text: rules, keyed surrogates, the audit file and its evaluation.

Used by ingest (``--scrub``), the MLLP listener and ``radimpress scrub``; it
depends only on ``radimpress.records`` so any stage can call it.
"""
