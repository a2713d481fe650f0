<?php
// A worker script that ends without ever calling kiln_handle_request().
echo "booted, but forgot to serve\n";
