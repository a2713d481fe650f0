<?php
// The worker process serving this request.
echo getmypid();
