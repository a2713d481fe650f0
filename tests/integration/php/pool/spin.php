<?php
// A runaway: never ends by itself.
while (true) { usleep(1000); }
