<?php
undefined_function_kiln();
