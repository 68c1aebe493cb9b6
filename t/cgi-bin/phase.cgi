#!/bin/sh
# What a CGI script sees of the migration phase (t/27_migration.t): run
# under a scheduled scope directly, and as its ErrorDocument 426.
printf 'Content-Type: text/plain\r\n\r\n'
echo "UPGRADE_REQUIRED=${UPGRADE_REQUIRED:-unset}"
echo "UPGRADE_REQUIRED_PHASE=${UPGRADE_REQUIRED_PHASE:-unset}"
echo "REDIRECT_STATUS=${REDIRECT_STATUS:-unset}"
echo "REDIRECT_UPGRADE_REQUIRED=${REDIRECT_UPGRADE_REQUIRED:-unset}"
echo "REDIRECT_UPGRADE_REQUIRED_PHASE=${REDIRECT_UPGRADE_REQUIRED_PHASE:-unset}"
