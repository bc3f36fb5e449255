<?php
// Shared page header; every page sets $title before including it.
$nav = ['index.php' => 'Home', 'menu.php' => 'Menu', 'hours.php' => 'Hours', 'contact.php' => 'Contact'];
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title><?= htmlspecialchars($title) ?> - Cafe Lumen</title>
  <link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header>
  <h1>Cafe Lumen</h1>
  <nav><?php foreach ($nav as $href => $label): ?><a href="/<?= $href ?>"><?= $label ?></a> <?php endforeach; ?></nav>
</header>
<main>
