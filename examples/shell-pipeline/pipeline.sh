#!/bin/sh
# Top paths and status codes from an access log.
set -eu
log=/app/access.log
echo "requests: $(wc -l < "$log")"
echo "top paths:"
cut -d' ' -f7 "$log" | sort | uniq -c | sort -rn | head -n 3 | sed 's/^ *//'
echo "status codes:"
awk '{ print $9 }' "$log" | sort | uniq -c | awk '{ printf "  %s x%d\n", $2, $1 }'
echo "bytes: $(awk '{ s += $10 } END { print s }' "$log")"
echo "clients: $(cut -d' ' -f1 "$log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
