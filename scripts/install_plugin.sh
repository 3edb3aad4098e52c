#!/usr/bin/env bash
# Link this checkout into the QGIS profile as the plugin "deepprospect" and enable it,
# so desktop QGIS and qgis_process both load it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, '$ROOT'); import engine_environment; print(engine_environment.default_profile_folder())")
PLUGINS="$PROFILE/python/plugins"
mkdir -p "$PLUGINS"
if [[ "$(readlink -f "$PLUGINS/deepprospect" 2>/dev/null)" != "$ROOT" ]]; then
  rm -rf "$PLUGINS/deepprospect"
  ln -s "$ROOT" "$PLUGINS/deepprospect"
  echo "install: linked $PLUGINS/deepprospect -> $ROOT"
fi
SETTINGS="$PROFILE/QGIS/QGIS3.ini"
if ! grep -qs '^deepprospect=true' "$SETTINGS"; then
  QT_QPA_PLATFORM=offscreen /usr/bin/qgis_process.bin plugins enable deepprospect >/dev/null 2>&1 || true
  if ! grep -qs '^deepprospect=true' "$SETTINGS"; then
    # qgis_process could not do it (older QGIS): write the setting QGIS reads itself.
    mkdir -p "$(dirname "$SETTINGS")"
    /usr/bin/python3 - "$SETTINGS" <<'PY'
import configparser, sys
path = sys.argv[1]
config = configparser.RawConfigParser(); config.optionxform = str
config.read(path)
if not config.has_section("PythonPlugins"):
    config.add_section("PythonPlugins")
config.set("PythonPlugins", "deepprospect", "true")
with open(path, "w") as handle:
    config.write(handle, space_around_delimiters=False)
PY
  fi
  echo "install: enabled the deepprospect plugin in $SETTINGS"
fi
