<?php
echo 'classic mode ran index.php';
