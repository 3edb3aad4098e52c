"""TensorFlow/Keras and SHAP: architectures, training, bundles, prediction, explanation.

Never imports qgis. TensorFlow and shap come from the plugin's dependency folder.
"""
from .. import dependencies as _dependencies

_dependencies.add_dependency_folder_to_path()
