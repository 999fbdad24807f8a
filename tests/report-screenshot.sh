#!/usr/bin/env bash
# Opens a training report in headless Chromium and takes a screenshot of the whole page.
#   tests/report-screenshot.sh [RUN_DIR [OUT.png]]
# Without RUN_DIR it first trains LeNet-5 on 3,000 Fashion-MNIST images for 2 epochs into
# target/report-run. Fails when the page does not load, when an image on it does not decode,
# or when the screenshot is blank. Installs Debian's chromium when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
run="${1:-}"
png="${2:-target/report-screenshot.png}"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    echo "chromium is not installed; as root: apt-get install -y chromium" >&2
    exit 1
  fi
fi
if [ -z "$run" ]; then
  run=target/report-run
  rm -rf "$run"
  ./cnn4j train --limit 3000 --test-limit 1000 --epochs 2 --val-split 0.1 --out "$run" --no-progress | tail -2
fi
page="$(cd "$run" && pwd)/report.html"
[ -f "$page" ] || { echo "no report.html in $run" >&2; exit 1; }
mkdir -p "$(dirname "$png")"
browse() {
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files \
    "$@" "file://$page" 2>/dev/null
}
# every <img> decodes (naturalWidth > 0): the DOM after load, with a script run through the DevTools-free
# route of --dump-dom on a copy of the page that marks broken images
check="$(mktemp --suffix=.html)"
sed 's|</body>|<script>addEventListener("load",()=>document.body.setAttribute("data-broken",[...document.images].filter(i=>!(i.complete\&\&i.naturalWidth>0)).length+"/"+document.images.length))</script></body>|' \
  "$page" > "$check"
dom="$(timeout 120 chromium --headless=new --no-sandbox --disable-gpu --dump-dom "file://$check" 2>/dev/null)"
rm -f "$check"
counts="$(printf '%s' "$dom" | grep -o 'data-broken="[0-9]*/[0-9]*"' | head -1)"
[ -n "$counts" ] || { echo "the report did not load in chromium" >&2; exit 1; }
broken="${counts#data-broken=\"}"; broken="${broken%%/*}"
total="${counts##*/}"; total="${total%\"}"
echo "report images: $total, broken: $broken"
[ "$broken" = 0 ] && [ "$total" -gt 20 ] || { echo "the report's images do not all render" >&2; exit 1; }
browse --window-size=1280,8000 --screenshot="$(realpath -m "$png")" >/dev/null
size=$(stat -c %s "$png")
echo "screenshot: $png ($size bytes)"
[ "$size" -gt 50000 ] || { echo "the screenshot is (nearly) blank" >&2; exit 1; }
