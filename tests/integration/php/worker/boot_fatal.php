<?php
// A worker script that cannot boot: an uncaught exception before kiln_handle_request().
throw new LogicException('the application cannot boot');
