"""Server taxonomy extensions on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from bot.db import Database
from bot.domain.taxonomy import added_entry, load_taxonomy
from bot.storage.taxonomy import TaxonomyRepository


async def test_extensions_merge_per_server(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.db")
    try:
        repo = TaxonomyRepository(db)
        base = load_taxonomy()
        await repo.add(1, added_entry("sector", "church", {"nb": "Tros- og livssyn"}, "#AA5500"))
        await repo.add(1, added_entry("theme", "digital", {"nb": "Digital", "en": "Digital"}))
        await repo.add(1, added_entry("theme", "elderly", {"nb": "Eldre mennesker"}))
        await repo.add(1, added_entry("theme", "digital", {"nb": "Digitalt utenforskap"}))
        merged = await repo.for_guild(1, base)
        assert "church" in merged.sector_keys
        assert merged.colour("church") == "#AA5500"
        assert merged.label("digital", "nb") == "Digitalt utenforskap"
        assert merged.label("elderly", "nb") == "Eldre mennesker"
        assert merged.find("elderly").kind == "target_group"  # type: ignore[union-attr]
        other = await repo.for_guild(2, base)
        assert other == base
    finally:
        await db.close()
