<?php
echo "before exit\n";
exit();
echo "after exit\n";
