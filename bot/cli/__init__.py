"""Command-line subcommands besides `run`, `migrate` and `backup`.

Each module here exposes `add_arguments(parser)` and `main(args) -> int`; `bot.__main__`
lists them explicitly in `SUBCOMMANDS`.
"""
