"""The compliance context: every opened account gets a monitoring rule."""
