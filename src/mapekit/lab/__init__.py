"""The network-namespace lab: topologies with real processes and packets."""
