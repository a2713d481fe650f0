<?php
// bench/run.sh checks that both PHPs run with OPcache on and timestamps not validated.
$status = opcache_get_status(false);
printf("opcache=%d validate_timestamps=%s\n", is_array($status) && $status['opcache_enabled'],
    ini_get('opcache.validate_timestamps'));
