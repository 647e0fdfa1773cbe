#!/usr/bin/env bash
# Refresh the vendored front-end files in book/_vendor/vendor from the npm registry.
# Only needed to upgrade them; the book build uses the committed copies.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/book/_vendor/vendor"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent @jupyter-widgets/html-manager@1.0.7 requirejs@2.3.7 mathjax@3.2.2 >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
m="$tmp/mathjax-3.2.2/package/es5"
rm -rf "$dest/mathjax"; mkdir -p "$dest/mathjax/output/chtml/fonts" "$dest/mathjax/input/tex"
cp jupyter-widgets-html-manager-1.0.7/package/dist/embed-amd.js "$dest/"
# The manager's icon fonts (woff2 only), where its two AMD bundles look for them: next to their
# module names, under require.js' baseUrl (book/_vendor/course/widget_setup.js sets it to vendor/).
hm=jupyter-widgets-html-manager-1.0.7/package/dist
rm -rf "$dest/@jupyter-widgets"; mkdir -p "$dest/@jupyter-widgets/html-manager/dist"
cp "$hm"/*.woff2 "$dest/@jupyter-widgets/html-manager/dist/"
cp "$hm/1551f4f60c37af51121f.woff2" "$dest/@jupyter-widgets/"   # Font Awesome 4, for the controls
cp jupyter-widgets-html-manager-1.0.7/package/LICENSE "$dest/LICENSE.html-manager"
cp requirejs-2.3.7/package/require.js "$dest/"
cp "$m/tex-mml-chtml.js" "$dest/mathjax/"
cp -r "$m/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
cp -r "$m/input/tex/extensions" "$dest/mathjax/input/tex/"
cp -r "$m/ui" "$m/a11y" "$dest/mathjax/"
cp mathjax-3.2.2/package/LICENSE "$dest/mathjax/LICENSE"
echo "vendored files refreshed in $dest"
