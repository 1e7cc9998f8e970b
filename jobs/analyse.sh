#!/bin/sh
# Counts lines and words of its input and writes a summary.
set -e
in="$1"
printf 'lines %s\nwords %s\n' "$(wc -l < "$in")" "$(wc -w < "$in")" > summary.txt
echo "summarised $in"
