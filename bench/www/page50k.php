<?php
// About 50 KiB of HTML, built the way a template would.
echo "<!DOCTYPE html><html><head><title>Products</title></head><body><table>\n";
for ($i = 0; $i < 668; $i++) {
    echo "<tr><td>$i</td><td>Product number $i</td><td class=\"price\">", $i * 3 % 97, ".99</td></tr>\n";
}
echo "</table></body></html>\n";
