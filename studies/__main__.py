"""``python -m studies``: the command line (see :mod:`studies.cli`)."""

from studies.cli import main

raise SystemExit(main())
