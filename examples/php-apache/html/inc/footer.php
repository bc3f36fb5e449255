</main>
<footer>Cafe Lumen, 12 Harbour Street. Rendered by PHP <?= PHP_MAJOR_VERSION ?>.</footer>
</body>
</html>
