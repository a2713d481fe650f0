<?php
// Marks its start (with its worker's pid) in the file `mark`, sleeps, answers with the pid.
if (isset($_GET['mark']))
    file_put_contents($_GET['mark'], getmypid());
usleep((int)($_GET['ms'] ?? 2000) * 1000);
echo getmypid();
