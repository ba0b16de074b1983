"""The CE daemon: watches the prefix, drives provisioning, applies the plan, keeps state."""
