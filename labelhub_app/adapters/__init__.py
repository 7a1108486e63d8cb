"""Ports (Protocols) and their backends, chosen by configuration."""
