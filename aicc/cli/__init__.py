"""The ``aicc`` command line: one sub-command per module listed in :mod:`aicc.cli.main`."""
