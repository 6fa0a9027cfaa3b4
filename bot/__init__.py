"""Møteplass: a Discord bot for the cross-sector inclusion community."""

__version__ = "0.1.0"
