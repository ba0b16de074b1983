"""``python -m mapekit`` runs the ``mape`` command."""

from mapekit.cli.main import main

raise SystemExit(main())
