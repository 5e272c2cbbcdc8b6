"""radimpress: draft radiology impressions from findings, on-premises."""

__version__ = "0.1.0"
