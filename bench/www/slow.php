<?php
// A slow page (a report, a remote call): 200 ms, then a short answer. The fairness case runs it
// beside hello.php.
usleep(200000);
echo "slow done\n";
