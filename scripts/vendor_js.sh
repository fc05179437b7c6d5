#!/usr/bin/env bash
# Vendor the JavaScript the static website loads from CDNs by default, so that it works offline: the manager that
# renders saved ipywidgets (its version matches ipywidgets 8.1 in requirements.txt) and MathJax 3. npm checks each
# package's registry integrity hash. Writes book/vendor/widgets-js/ and book/vendor/mathjax/ (committed); run again
# after upgrading ipywidgets. The folder is not named _static: Jupyter Book injects every .js under _static into
# every page.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15
REQUIREJS=requirejs@2.3.7
MATHJAX=mathjax@3.2.2
OUT="$ROOT/book/vendor/widgets-js"
MATHJAX_OUT="$ROOT/book/vendor/mathjax"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$HTML_MANAGER" "$REQUIREJS" "$MATHJAX" >/dev/null
mkdir html-manager requirejs mathjax
tar xzf jupyter-widgets-html-manager-*.tgz -C html-manager --strip-components 1
tar xzf requirejs-*.tgz -C requirejs --strip-components 1
tar xzf mathjax-*.tgz -C mathjax --strip-components 1
rm -rf "$OUT"
mkdir -p "$OUT"
cp html-manager/dist/embed-amd.js html-manager/dist/*.woff2 "$OUT/"
cp html-manager/dist/embed.js.LICENSE.txt "$OUT/embed-amd.js.LICENSE.txt"
cp requirejs/require.js "$OUT/"
rm -rf "$MATHJAX_OUT"
mkdir -p "$MATHJAX_OUT/output/chtml/fonts"
cp mathjax/es5/tex-mml-chtml.js mathjax/LICENSE "$MATHJAX_OUT/"
cp -r mathjax/es5/output/chtml/fonts/woff-v2 "$MATHJAX_OUT/output/chtml/fonts/"
for package in html-manager requirejs mathjax; do
    license=$(node -p "require('./$package/package.json').license")
    echo "$(node -p "require('./$package/package.json').name")@$(node -p "require('./$package/package.json').version"): $license license"
done > "$OUT/VERSIONS"
du -sh "$OUT" "$MATHJAX_OUT"
