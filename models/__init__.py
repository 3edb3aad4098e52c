"""TensorFlow/Keras and SHAP: architectures, training, bundles, prediction, explanation.

Never imports qgis. Runs in the engine's own virtual environment (``engine_environment.py``),
which provides TensorFlow, Keras and shap; nothing here changes ``sys.path``.
"""
