#!/bin/sh
# Summarize a small data file: only sh, cat, sort, head and wc are used.
set -e
echo "inventory report"
count=$(cat /app/data.txt | wc -l)
echo "items: $count"
echo "top three by name:"
sort /app/data.txt | head -n 3
