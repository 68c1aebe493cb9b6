#!/bin/sh
# Shows what a CGI script sees of the module's export (report mode).
printf 'Content-Type: text/plain\r\n\r\n'
echo "UPGRADE_REQUIRED=${UPGRADE_REQUIRED:-unset}"
