"""Sub-commands of the `feblam` CLI: one module each, each with `register(subparsers)`."""
