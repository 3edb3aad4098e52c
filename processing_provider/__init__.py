"""Thin QgsProcessingAlgorithm wrappers over ``core`` and ``models``."""
