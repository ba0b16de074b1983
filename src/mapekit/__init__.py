"""mapekit: MAP-E (RFC 7597) for Japanese IPoE operators.

Importing this package imports nothing else: the command line loads only what each
command needs, so ``mape calc`` starts fast.
"""

__version__ = "0.1.0"
