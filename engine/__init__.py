"""The engine's process: the worker that runs ``core``/``models`` tasks for the QGIS front.

Nothing here is imported by QGIS: the front starts ``engine/worker.py`` with the engine's own
Python (``engine_environment.py``) and talks to it over the protocol described in
``engine/worker.py``.
"""
