<?php
// Answers after `ms` milliseconds, with no output before.
$ms = (int)($_GET['ms'] ?? 500);
usleep($ms * 1000);
echo "slow $ms\n";
