<?php
// A preload script that prints while it loads (the zygote runs it before any request).
echo "noisy preload output\n";
function kiln_noisy_preloaded(): string
{
    return 'noisy';
}
