#!/bin/sh
# The paper's figures 5, 6 and 7, measured on this machine (PNG, CSV and a JSON summary each).
set -e
for n in 5 6 7; do .venv/bin/python -m raveforce figure $n --out out/figures; done
