<?php
// Opening times of the partner cafe abroad, from a fixed instant (no clock), formatted in
// time zones read from the system's zoneinfo (Debian's PHP uses /usr/share/zoneinfo).
$title = 'Hours';
require __DIR__ . '/inc/header.php';
$opens = new DateTimeImmutable('2024-06-01 07:30:00', new DateTimeZone('Europe/Lisbon'));
?>
<ul>
<?php foreach (['Europe/Lisbon', 'America/New_York', 'Asia/Tokyo'] as $zone): ?>
  <li><?= $zone ?>: <?= $opens->setTimezone(new DateTimeZone($zone))->format('D H:i T') ?></li>
<?php endforeach; ?>
</ul>
<?php require __DIR__ . '/inc/footer.php'; ?>
