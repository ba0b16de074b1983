"""CE provisioning, sans I/O: message codecs and the CE state machine.

Nothing here opens a socket, reads a clock or the environment: time arrives as ``now``
and randomness as a seeded generator. ``mapekit.client`` runs this against real servers.
"""
