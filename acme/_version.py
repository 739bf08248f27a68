"""The version of acme, kept in one place (read by hatchling)."""

__version__ = "2026.12.0"
