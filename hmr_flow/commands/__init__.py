"""The ``hmr-flow`` sub-commands, one module per command group; each has ``register(subparsers)``, which
adds its parsers, each setting ``run=<callable(args) -> exit code>``. The top layer: commands may import
any part of the library, and no library module imports them."""
