<?php
// A request with a side effect that then crashes its worker: "charge the card", then segfault.
file_put_contents($_GET['log'], "x", FILE_APPEND | LOCK_EX);
posix_kill(getmypid(), SIGSEGV);
