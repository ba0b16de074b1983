"""Errors of provisioning.

::

    MapeError
     └── ProvisionError        a provisioning step failed; the category says how
          └── ReplyError       the *peer* misbehaved: a malformed or unusable reply

A :class:`ReplyError` is a remote error (h11's split): nothing a user typed was wrong.
Decoders of untrusted input raise only ReplyError.
"""

from __future__ import annotations

from mapekit.core.errors import MapeError


class ProvisionError(MapeError):
    """A provisioning step failed (blank answer, 403, 5xx, timeout, …)."""


class ReplyError(ProvisionError):
    """The server's reply is malformed or its content unusable."""
