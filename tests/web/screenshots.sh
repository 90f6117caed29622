#!/usr/bin/env bash
# screenshots.sh - remake docs/screenshots/*.png (the main pages on a 360x640 phone)
# by running the browser tests with HEARTH_SCREENSHOTS=1. Give the hearth binary as
# $HEARTH (default: build/hearth); scripts/deps must have run. Runs the journeys and
# the moderation, messages and devices pages (the phases that take the pictures).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
HEARTH=${HEARTH:-$top/build/hearth} HEARTH_SRC=$top HEARTH_SCREENSHOTS=1 \
  bash "$top/tests/web/test_web.sh" care,messages,devices
ls -l "$top/docs/screenshots"
