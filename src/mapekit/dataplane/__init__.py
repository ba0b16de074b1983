"""The CE data plane: a pure plan, and appliers that make it exist (kernel or userspace)."""
