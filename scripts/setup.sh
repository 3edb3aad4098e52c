#!/usr/bin/env bash
# Everything DeepProspect needs on a Debian machine, idempotent and quick when done:
# Debian packages (QGIS and its Python stack), the dependency folder (tensorflow, shap),
# and the plugin linked into the QGIS profile and enabled.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-h5py: the h5py wheel TensorFlow pulls into the dependency folder bundles its own HDF5,
# which clashes with the system HDF5 that GDAL has already loaded inside QGIS ("Not a datatype").
# Debian's h5py uses the system library, and wins because the dependency folder is appended.
APT_PACKAGES=(qgis python3-qgis qgis-providers python3-rasterio python3-geopandas python3-scipy
  python3-matplotlib python3-sklearn python3-pandas python3-shapely python3-pyproj python3-pytest
  python3-hypothesis python3-psutil python3-pip python3-h5py gdal-bin xvfb)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if (( ${#missing[@]} )); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=/usr/bin/python3
DEPS=$($PYTHON -c 'import sys; sys.path.insert(0, "."); import dependencies; print(dependencies.dependency_folder())')
STAMP="$DEPS/.deepprospect-requirements"
wanted=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]] || \
   ! PYTHONPATH= $PYTHON -c "import sys; sys.path.append('$DEPS'); import importlib.util as u; sys.exit(0 if u.find_spec('tensorflow') and u.find_spec('shap') else 1)"; then
  echo "setup: installing tensorflow and shap into $DEPS"
  mkdir -p "$DEPS"
  $PYTHON -m pip install --disable-pip-version-check --no-warn-script-location --upgrade -q \
    --target "$DEPS" -c constraints.txt -r requirements.txt
  # pip --target installs numpy & co. again as dependencies; QGIS's own copies must be the only
  # ones, so the duplicates are removed (the folder is appended to sys.path, but a stray copy
  # would still confuse anyone who prepends it).
  for duplicate in numpy scipy pandas sklearn scikit_learn matplotlib; do
    rm -rf "$DEPS/$duplicate" "$DEPS"/"$duplicate"-*.dist-info "$DEPS"/"$duplicate".libs
  done
  echo "$wanted" > "$STAMP"
fi

bash scripts/install_plugin.sh
