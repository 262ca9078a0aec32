#!/bin/sh
# Builds dist/greet from its template: the greeting comes from $GREETING (an input of the task).
set -eu
mkdir -p dist
sed "s/@GREETING@/${GREETING:-Hello}/" src/greet.in > dist/greet
chmod +x dist/greet
echo "greet: built dist/greet"
