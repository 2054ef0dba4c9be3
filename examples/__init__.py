"""Examples built with riverbed; ``examples.bank`` is the reference system."""
