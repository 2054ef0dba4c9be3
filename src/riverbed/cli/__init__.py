"""The ``riverbed`` command line."""
