"""The ``ecograph`` command line: a thin click shell over the library.

Commands live in small modules by area (``hubtools``, ``crawling``, ``analysis``,
``outputs``); each exposes ``COMMANDS``. Library errors become one ``Error: ...`` line and
exit code 1 (usage errors: 2); ``ECOGRAPH_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import click

from .. import __version__
from ._common import EcographGroup, add_as_of_option
from .analysis import COMMANDS as _ANALYSIS
from .crawling import COMMANDS as _CRAWLING
from .demo import COMMANDS as _DEMO
from .drift import COMMANDS as _DRIFT
from .dynamics import COMMANDS as _DYNAMICS
from .history import COMMANDS as _HISTORY
from .hubtools import COMMANDS as _HUBTOOLS
from .migration import COMMANDS as _MIGRATION
from .outputs import COMMANDS as _OUTPUTS

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=EcographGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="ecograph")
def main() -> None:
    """Map the derivative ecosystem of open-weight models on the Hugging Face Hub.

    \b
    Quick start (offline, bundled data):
      ecograph demo
    Real Hub:
      ecograph crawl meta-llama/Llama-3.1-8B --db llama.db
      ecograph stats meta-llama/Llama-3.1-8B --db llama.db
    """


for _cmd in (*_HUBTOOLS, *_CRAWLING, *_ANALYSIS, *_DYNAMICS, *_MIGRATION, *_DRIFT, *_OUTPUTS,
             *_HISTORY, *_DEMO):
    main.add_command(_cmd)
add_as_of_option(main.commands.values())  # every analysis command reads --as-of

__all__ = ["main"]
