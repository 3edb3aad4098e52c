#!/usr/bin/env bash
# Everything DeepProspect needs on a Debian 12 (QGIS 3.22) or Debian 13 (QGIS 3.40) machine,
# idempotent and done in about a second once everything is there:
# 1. Debian packages for the QGIS front only: QGIS and its Python, plus what the QGIS-side tests
#    use: GDAL's Python bindings, numpy and scipy as independent references, pytest, and psutil
#    (to find and kill engine workers), and Qt's translation tools (pylupdate5, lrelease: the
#    translation test extracts i18n/deepprospect.pro). The engine's numpy/rasterio/TensorFlow never
#    come from Debian;
# 2. the engine's virtual environment from requirements.txt (engine_environment.py; rebuilt when
#    the lock changes), plus the test tools of requirements-test.txt inside it;
# 3. the plugin linked into the QGIS profile and enabled.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(qgis python3-qgis qgis-providers python3-gdal python3-numpy python3-scipy
  python3-pytest python3-psutil python3-venv python3-pip gdal-bin xvfb pyqt5-dev-tools qttools5-dev-tools)

installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  grep -qx "$package installed" <<<"$installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The engine environment: QGIS's own Python makes the venv (DEEPPROSPECT_PYTHON overrides it,
# DEEPPROSPECT_ENV the folder). A no-op when its stamp matches requirements.txt.
PYTHON=/usr/bin/python3
mapfile -t engine < <($PYTHON -c 'import engine_environment as e; print(e.status()); print(e.environment_folder()); print(e.engine_python())')
if [[ "${engine[0]}" != "ready" ]]; then
  echo "setup: installing the engine environment (${engine[0]}) into ${engine[1]}"
  $PYTHON engine_environment.py install --if-needed
fi

# Test tools, once per version of requirements-test.txt (its hash is kept in the environment).
ENGINE=${engine[2]}
TOOLS_STAMP="${engine[1]}/deepprospect-test-tools.sha256"
wanted=$(cat requirements.txt requirements-test.txt | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$TOOLS_STAMP" 2>/dev/null)" != "$wanted" ]]; then
  echo "setup: installing the test tools into the engine environment"
  "$ENGINE" -m pip install --disable-pip-version-check --no-warn-script-location -q \
    -r requirements-test.txt -c requirements.txt
  echo "$wanted" > "$TOOLS_STAMP"
fi

bash scripts/install_plugin.sh
