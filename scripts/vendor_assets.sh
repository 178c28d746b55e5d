#!/usr/bin/env bash
# Vendor the two browser libraries the web UI needs into app/static/vendor/, so ./run.sh needs no Node.js.
#
#   @bpmn-io/form-js  renders the Camunda Forms (forms/*.form) of start events and user tasks
#   bpmn-js           draws an instance's diagram (NavigatedViewer: pan and zoom, no editing)
#
# Refresh: change the versions below (or pass FORM_JS_VERSION / BPMN_JS_VERSION), run
#   scripts/vendor_assets.sh
# then run ./test.sh (tests/e2e drives both libraries in Chromium) and commit app/static/vendor/.
# Needs npm; installs into a temporary directory and copies only the UMD bundle, its CSS and the LICENSE.
set -euo pipefail
cd "$(dirname "$0")/.."

FORM_JS_VERSION="${FORM_JS_VERSION:-1.23.0}"
BPMN_JS_VERSION="${BPMN_JS_VERSION:-18.31.1}"
AXE_VERSION="${AXE_VERSION:-4.10.2}"  # accessibility checks of the browser tests (tests/e2e/test_accessibility.py)
DEST=app/static/vendor

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
    "@bpmn-io/form-js@${FORM_JS_VERSION}" "bpmn-js@${BPMN_JS_VERSION}" "axe-core@${AXE_VERSION}"
)
mods="$work/node_modules"

rm -rf "$DEST/form-js" "$DEST/bpmn-js" "$DEST/axe-core"
mkdir -p "$DEST/form-js" "$DEST/bpmn-js" "$DEST/axe-core"

# form-js: the viewer bundle (global FormViewer) and its stylesheet (includes the date-picker styles).
cp "$mods/@bpmn-io/form-js/dist/form-viewer.umd.js" "$DEST/form-js/"
cp "$mods/@bpmn-io/form-js/dist/assets/form-js.css" "$DEST/form-js/"
cp "$mods/@bpmn-io/form-js/LICENSE" "$DEST/form-js/LICENSE"

# bpmn-js: the navigated viewer (global BpmnJS) and the two stylesheets a viewer needs.
cp "$mods/bpmn-js/dist/bpmn-navigated-viewer.production.min.js" "$DEST/bpmn-js/"
cp "$mods/bpmn-js/dist/assets/diagram-js.css" "$mods/bpmn-js/dist/assets/bpmn-js.css" "$DEST/bpmn-js/"
cp "$mods/bpmn-js/LICENSE" "$DEST/bpmn-js/LICENSE"

cat > "$DEST/VERSIONS" <<EOF
@bpmn-io/form-js ${FORM_JS_VERSION} (dist/form-viewer.umd.js, dist/assets/form-js.css)
bpmn-js ${BPMN_JS_VERSION} (dist/bpmn-navigated-viewer.production.min.js, dist/assets/diagram-js.css, bpmn-js.css)
axe-core ${AXE_VERSION} (axe.min.js; used by the browser tests only, tests/e2e/test_accessibility.py)
Refresh with scripts/vendor_assets.sh
EOF
# axe-core: the accessibility engine the browser tests load into each page.
cp "$mods/axe-core/axe.min.js" "$mods/axe-core/LICENSE" "$DEST/axe-core/"

echo "vendored into $DEST:"
find "$DEST" -type f | sort | xargs ls -la
