<?php
$title = 'Contact';
require __DIR__ . '/inc/header.php';
$contact = ['email' => 'hello@cafe-lumen.example', 'phone' => '+351 21 000 0000'];
?>
<p>Write to <a href="mailto:<?= $contact['email'] ?>"><?= $contact['email'] ?></a>
or call <?= $contact['phone'] ?>.</p>
<pre><?= htmlspecialchars(json_encode($contact, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES)) ?></pre>
<?php require __DIR__ . '/inc/footer.php'; ?>
