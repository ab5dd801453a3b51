#!/usr/bin/env bash
# Renders a report with headless Chromium to a PNG: the page as a browser draws it (fonts, SVG, shading).
#
#   scripts/screenshot_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
#   scripts/screenshot_report.sh RUN_DIR     [OUT.png] [WIDTHxHEIGHT]   # runs `text2grad report RUN_DIR` first
#
# OUT defaults to the report's name with .png; the window to 1280x2400 (Chromium shoots the window, not the
# whole page: give a taller window for a longer page). TEXT2GRAD names the tool (default: the newest build).
# Chromium comes from Debian's `chromium` package, installed here when missing and apt-get can.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
input=$1
size=${3:-1280x2400}
if [[ ! $size =~ ^[0-9]+x[0-9]+$ ]]; then
    echo "screenshot_report: the size must read WIDTHxHEIGHT, e.g. 1280x2400 (got '$size')" >&2
    exit 2
fi

if [[ -d $input ]]; then
    tool=${TEXT2GRAD:-}
    if [[ -z $tool ]]; then
        for candidate in .build/release/text2grad .build/debug/text2grad; do
            if [[ -x $candidate && ( -z $tool || $candidate -nt $tool ) ]]; then tool=$candidate; fi
        done
    fi
    if [[ -z $tool ]]; then
        echo "screenshot_report: no text2grad build found; run 'make build' or set TEXT2GRAD" >&2
        exit 1
    fi
    "$tool" report "$input" -o "$input/report.html"
    input=$input/report.html
fi
if [[ ! -f $input ]]; then
    echo "screenshot_report: $input: no such file" >&2
    exit 1
fi
output=${2:-${input%.html}.png}

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "screenshot_report: installing Debian's chromium package" >&2
        apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
        browser=$(command -v chromium)
    else
        echo "screenshot_report: Chromium is missing; install it with 'sudo apt-get install -y chromium'" >&2
        exit 1
    fi
fi

# A throwaway profile, so a running browser or an old profile cannot interfere; removed on exit.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
page="file://$(cd "$(dirname "$input")" && pwd)/$(basename "$input")"
rm -f "$output"
# --no-sandbox: Chromium refuses to run as root otherwise (containers, CI); the page is a local file we wrote.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --force-device-scale-factor=1 --user-data-dir="$profile" --window-size="${size/x/,}" \
    --screenshot="$output" "$page" 2> "$profile/stderr" || true
if [[ ! -s $output ]]; then
    echo "screenshot_report: Chromium wrote no screenshot; its messages:" >&2
    cat "$profile/stderr" >&2
    exit 1
fi
echo "$output ($size) from $page"
