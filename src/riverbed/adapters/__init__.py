"""Adapters: one sub-package per technology, each import-guarded for its optional driver."""
