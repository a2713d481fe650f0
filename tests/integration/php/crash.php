<?php
echo "about to crash\n";
posix_kill(getmypid(), SIGSEGV);
