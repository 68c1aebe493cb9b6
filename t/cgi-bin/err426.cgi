#!/bin/sh
# ErrorDocument 426 target run by mod_cgid.  It prints headers that must not
# survive on a 426: its own Upgrade and Connection lines.
printf 'Content-Type: text/plain\r\n'
printf 'Upgrade: bogus-from-cgi\r\n'
printf 'Connection: keep-alive\r\n'
printf '\r\n'
echo "site-426-page cgi REDIRECT_STATUS=${REDIRECT_STATUS} REDIRECT_URL=${REDIRECT_URL} REDIRECT_UPGRADE_REQUIRED=${REDIRECT_UPGRADE_REQUIRED:-unset} HTTPS=${HTTPS:-off}"
