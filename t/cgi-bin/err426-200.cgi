#!/bin/sh
# An ErrorDocument 426 script that claims success: the client must still see
# 426 (a refusal cannot become a 200 through the error page).
printf 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n'
echo "site-426-page cgi-200"
