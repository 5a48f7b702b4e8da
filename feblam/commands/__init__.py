"""Sub-commands of the `feblam` CLI: one module each, each with `register(subparsers)`."""


def add_kafka_endpoints(parser, stack, when: str = "") -> None:
    """--bootstrap-servers and --registry-url, defaulting to the local stack's (`stack`, a
    StackSettings); `when` says when they are used (e.g. ", with --live")."""
    parser.add_argument("--bootstrap-servers", default=stack.bootstrap_servers,
                        help=f"Kafka{when} (default: the local stack, %(default)s)")
    parser.add_argument("--registry-url", default=stack.registry_url,
                        help=f"schema registry{when} (default: the local stack, %(default)s)")
