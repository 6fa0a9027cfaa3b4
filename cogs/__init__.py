"""discord.py extensions, one per capability. Each is thin: parse, call, render."""
