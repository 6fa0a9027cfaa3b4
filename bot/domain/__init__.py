"""Plain domain logic: no discord imports, frozen dataclasses in and out."""
