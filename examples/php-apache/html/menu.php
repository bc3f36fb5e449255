<?php
$title = 'Menu';
require __DIR__ . '/inc/header.php';
$menu = require __DIR__ . '/inc/menu-data.php';
ksort($menu);
?>
<img src="/assets/logo.svg" alt="" width="48">
<table>
<?php foreach ($menu as $item => $cents): ?>
  <tr><td><?= htmlspecialchars($item) ?></td><td><?= number_format($cents / 100, 2) ?></td></tr>
<?php endforeach; ?>
</table>
<p><?= count($menu) ?> items, from <?= number_format(min($menu) / 100, 2) ?>.</p>
<?php require __DIR__ . '/inc/footer.php'; ?>
