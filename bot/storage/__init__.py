"""Repositories: SQL lives here and only here. Each takes a `Database`, returns dataclasses."""
