"""Errors of the indexing core.

    IndexerError
    ├── TransientError      retry through the queue (a service unavailable or throttling)
    └── ConfigurationError  a setting is missing or invalid (the message names the variable)
"""


class IndexerError(Exception):
    """Base of the indexing core's errors."""


class TransientError(IndexerError):
    """A failure that a later attempt may not meet: the message goes back to the queue."""


class ConfigurationError(IndexerError, ValueError):
    """A setting is missing or invalid."""
