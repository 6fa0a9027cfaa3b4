"""A server's own sectors and interests, added on top of the shipped taxonomy."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.taxonomy import Entry, Kind, Taxonomy, added_entry, merge_taxonomy
from bot.storage.rows import Repository

# The table keeps one `kind` for interests; target group versus theme is not stored.
_STORED_KIND: dict[Kind, str] = {
    "sector": "sector",
    "target_group": "interest",
    "theme": "interest",
}


class TaxonomyRepository(Repository):
    async def extensions(self, guild_id: int) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT kind, key, label_nb, label_sv, label_en, colour FROM taxonomy_extensions "
            "WHERE guild_id = ? ORDER BY rowid",
            (guild_id,),
        )
        return [
            added_entry(
                "sector" if r["kind"] == "sector" else "theme",
                r["key"],
                {"nb": r["label_nb"], "sv": r["label_sv"], "en": r["label_en"]},
                r["colour"],
            )
            for r in rows
        ]

    async def add(self, guild_id: int, entry: Entry) -> None:
        """Add or relabel one entry (validated by `added_entry` before it gets here)."""
        labels = dict(entry.labels)
        fallback = next(iter(labels.values()), entry.key)
        await self.db.execute(
            "INSERT INTO taxonomy_extensions "
            "(guild_id, kind, key, label_nb, label_sv, label_en, colour) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, kind, key) DO UPDATE SET "
            "label_nb = excluded.label_nb, label_sv = excluded.label_sv, "
            "label_en = excluded.label_en, colour = excluded.colour",
            (
                guild_id,
                _STORED_KIND[entry.kind],
                entry.key,
                labels.get("nb", fallback),
                labels.get("sv", fallback),
                labels.get("en", fallback),
                entry.colour,
            ),
        )

    async def for_guild(self, guild_id: int, base: Taxonomy) -> Taxonomy:
        """The shipped taxonomy merged with this server's entries."""
        added = []
        for entry in await self.extensions(guild_id):
            existing = base.find(entry.key)
            if existing is not None and entry.kind != "sector" and existing.kind != "sector":
                entry = replace(entry, kind=existing.kind)  # relabel a shipped target group
            added.append(entry)
        return merge_taxonomy(base, added)
