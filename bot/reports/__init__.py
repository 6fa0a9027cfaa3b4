"""Report attachments built from `bot.domain.stats.Report`: CSV and a PNG chart.

Pure functions returning bytes; no discord imports. The cog attaches them and renders the
embed summary from the same `Report`.
"""
