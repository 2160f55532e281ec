"""The errors of ``t4index``: one tree, messages that name the input and the limit.

::

    T4IndexError
    ├── InvalidBucketName   (also ValueError) a bucket name no index name can carry
    ├── DocumentError       (also ValueError) a document that cannot be built
    ├── QueryError          (also ValueError) a search request that is not valid
    └── IndexStateError     the cluster's indices or aliases are not as expected

Errors from the Elasticsearch client are translated once, in ``t4index.lifecycle``,
and kept as ``__cause__``.
"""

from __future__ import annotations


class T4IndexError(Exception):
    """Base of every error raised by ``t4index``."""


class InvalidBucketName(T4IndexError, ValueError):
    """The bucket name holds characters S3 never allows, or is empty."""


class DocumentError(T4IndexError, ValueError):
    """The values given to ``build_document`` cannot make an indexable document."""


class QueryError(T4IndexError, ValueError):
    """The search request is not valid: unknown operator, wrong type, page too large."""


class IndexStateError(T4IndexError):
    """The indices or aliases on the cluster are not in a state this code can work from."""
