"""The StreamExecutionEnvironment every FEBLAM job starts from, and the options that choose it.

One place decides how a job meets Flink, so that the same job file runs on the
embedded mini-cluster (files mode, tests) and when submitted to any Flink
cluster with `flink run -py` (`feblam submit` wraps that for the local stack).
Nothing here knows the local stack: a submitted job takes its endpoints from its
own arguments, its jars from `--jars` or its checkout (`jobs.jars`), and every
Flink setting from the configuration it is submitted with.

A job's main() declares its own options, then:

    add_deployment_arguments(parser)
    ...
    env = execution_environment(args.embedded, args.parallelism, args.jars)
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment

from jobs.flinkconf import embedded_config
from jobs.jars import CONNECTOR_JAR_DIRS, NONE, connector_jars, parse_jars


class JobHelpFormatter(argparse.HelpFormatter):
    """A job's --help: the description's paragraphs kept apart (an indented line,
    such as a command, as written), and every option's default unless it has none."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = textwrap.dedent(text).strip().split("\n\n")
        filled = []
        for paragraph in paragraphs:
            if any(line.startswith(" ") for line in paragraph.splitlines()):
                filled.append(textwrap.indent(paragraph, indent))
            else:
                filled.append(textwrap.fill(" ".join(paragraph.split()), width, initial_indent=indent,
                                            subsequent_indent=indent))
        return "\n\n".join(filled)

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        # None and False mean "not set": the help says what that does.
        unset = action.default is None or action.default is False or action.default is argparse.SUPPRESS
        if "%(default)" in help_text or unset or not action.option_strings:
            return help_text
        return f"{help_text} (default: %(default)s)"


def add_deployment_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --embedded, --parallelism and --jars, the options every job shares, as one
    group; execution_environment() takes their parsed values."""
    group = parser.add_argument_group("deployment")
    group.add_argument("--embedded", action="store_true",
                       help="run on the embedded mini-cluster in this process, with flink-conf/config.yaml, "
                            "instead of on the cluster the job is submitted to")
    group.add_argument("--parallelism", type=int, metavar="N",
                       help="the job's parallelism; the configuration's parallelism.default if unset")
    group.add_argument("--jars", type=parse_jars, metavar="JARS",
                       help="connector jars to ship with the job: comma-separated jar files, directories of jars "
                            f"and URLs, or '{NONE}' when the cluster's lib/ holds them; if unset, the jars "
                            "scripts/setup put in var/lib/ of the FEBLAM checkout this job is in")


def execution_environment(embedded: bool, parallelism: int | None = None,
                          jars: Sequence[str] | None = None,
                          job_config: dict[str, str] | None = None) -> StreamExecutionEnvironment:
    """A configured environment with the connector jars added to pipeline.jars.

    `embedded=True` runs the job in-process with flink-conf/config.yaml and this
    interpreter's Python (`jobs.flinkconf.embedded_config`); otherwise the
    configuration the job is submitted with applies, untouched. `jars` are the
    jar URLs (the parsed `--jars`); None means the FEBLAM checkout's
    var/lib/flink-jars, and without a checkout the process exits with a one-line
    error naming --jars (`jobs.jars.ConnectorJarsNotFound`), before any JVM starts.
    `job_config`: settings of this job that differ from the cluster's (e.g. a Python
    bundle time), in either mode.
    """
    jar_urls = connector_jars(jars, CONNECTOR_JAR_DIRS)
    # embedded_config() must run before the first PyFlink object is made: that
    # starts the JVM, which has to inherit the PATH it sets.
    settings = {**(embedded_config() if embedded else {}), **(job_config or {})}
    config = Configuration()
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.add_jars(*jar_urls)
    if parallelism:
        env.set_parallelism(parallelism)
    return env
