<?php
// The menu, in cents; only menu.php includes this file.
return [
    'Espresso' => 220,
    'Flat white' => 340,
    'Cardamom bun' => 390,
    'Soup of the day' => 650,
];
