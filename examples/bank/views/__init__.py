"""The bank's views (read models), as pure folds."""
