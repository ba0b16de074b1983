"""Drivers that run the provisioning machine against real servers (httpx, dnspython)."""
