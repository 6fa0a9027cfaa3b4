"""Orchestration between storage, domain logic and the Discord adapter."""
