<?php
$title = 'Welcome';
require __DIR__ . '/inc/header.php';
$specials = ['Monday' => 'lentil soup', 'Wednesday' => 'rye bread', 'Friday' => 'plum cake'];
?>
<p>Coffee, bread and soup by the harbour.</p>
<h2>Specials</h2>
<ul>
<?php foreach ($specials as $day => $dish): ?>
  <li><?= $day ?>: <?= ucfirst($dish) ?></li>
<?php endforeach; ?>
</ul>
<?php require __DIR__ . '/inc/footer.php'; ?>
