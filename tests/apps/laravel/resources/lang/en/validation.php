<?php
/* The messages of the rules the application uses (a full app ships Laravel's whole file). */
return [
    'required' => 'The :attribute field is required.',
    'string' => 'The :attribute must be a string.',
    'array' => 'The :attribute must be an array.',
    'min' => ['string' => 'The :attribute must be at least :min characters.'],
    'max' => ['string' => 'The :attribute must not be greater than :max characters.'],
];
