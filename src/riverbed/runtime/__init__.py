"""Long-running processes: workers, lifecycle, topology and settings."""
