#!/bin/sh
# Builds dist/index.html from the pages, drafts left out.
set -eu
mkdir -p dist
{
  echo "<html><body>"
  for page in pages/*.md; do cat "$page"; done
  echo "</body></html>"
} > dist/index.html
echo "site: built dist/index.html"
